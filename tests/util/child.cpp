#include "child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <stdexcept>

#include "expect.hpp"

extern char** environ;

namespace softreg::test {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Child::Child(const std::string& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const std::string err = (dir_.path() / "stderr").string();
  const std::string line = "exec '" SOFTREG_EXE "' " + args + " 2>'" + err + "' </dev/null";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const char* argv[] = {"/bin/sh", "-c", line.c_str(), nullptr};
  const int rc =
      posix_spawn(&pid_, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  out_ = fds[0];
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
}

bool Child::read_some(double seconds) {
  pollfd p{out_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(seconds * 1000)) <= 0) return false;
  char buf[4096];
  const ssize_t n = read(out_, buf, sizeof buf);
  if (n <= 0) return false;
  read_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool Child::wait_for_line(const std::string& prefix, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t from = 0;;) {
    for (std::size_t eol; (eol = read_.find('\n', from)) != std::string::npos; from = eol + 1)
      if (read_.compare(from, prefix.size(), prefix) == 0) return true;
    const double left = seconds - seconds_since(start);
    if (left <= 0 || !read_some(left)) return false;
  }
}

void Child::signal(int sig) {
  kill(pid_, sig);
}

RunResult Child::wait(double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (seconds_since(start) < seconds && read_some(seconds - seconds_since(start))) {
  }
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (seconds_since(start) >= seconds) {
      timed_out_ = true;
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(1000);
  }
  pid_ = -1;
  RunResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.out = read_;
  result.err = slurp(dir_.path() / "stderr");
  return result;
}

}  // namespace softreg::test
