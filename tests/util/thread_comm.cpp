#include "thread_comm.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

namespace softreg::test {

class ThreadGroup::Member final : public Comm {
 public:
  Member(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size_; }
  void allgather(std::span<const double> mine, std::span<const std::size_t> counts,
                 std::span<double> all) const override {
    check(mine.size(), counts, all.size());
    group_.gather<double>(rank_, mine, all);
  }
  void allgather_bytes(std::span<const std::uint8_t> mine, std::span<const std::size_t> counts,
                       std::span<std::uint8_t> all) const override {
    check(mine.size(), counts, all.size());
    group_.gather<std::uint8_t>(rank_, mine, all);
  }
  void send(int to, std::span<const double> data) const override {
    if (to < 0 || to >= group_.size_ || to == rank_)
      throw std::logic_error("send: to no other member");
    {
      std::lock_guard lock(group_.mutex_);
      group_.messages_[{rank_, to}].emplace_back(data.begin(), data.end());
    }
    group_.arrived_.notify_all();
  }
  void receive(int from, std::span<double> data) const override {
    if (from < 0 || from >= group_.size_ || from == rank_)
      throw std::logic_error("receive: from no other member");
    std::unique_lock lock(group_.mutex_);
    auto& queue = group_.messages_[{from, rank_}];
    group_.arrived_.wait(lock, [&] { return !queue.empty(); });
    if (queue.front().size() != data.size())
      throw std::logic_error("receive: a message of another size");
    std::copy(queue.front().begin(), queue.front().end(), data.begin());
    queue.pop_front();
  }

 private:
  void check(std::size_t mine, std::span<const std::size_t> counts, std::size_t all) const {
    std::size_t total = 0;
    for (const std::size_t c : counts) total += c;
    if (counts.size() != static_cast<std::size_t>(group_.size_) ||
        counts[static_cast<std::size_t>(rank_)] != mine || total != all)
      throw std::logic_error("allgather: counts do not fit");
  }
  ThreadGroup& group_;
  int rank_;
};

ThreadGroup::ThreadGroup(int size)
    : size_(size), barrier_(size), slots_(static_cast<std::size_t>(size)) {}

template <typename T>
void ThreadGroup::gather(int rank, std::span<const T> mine, std::span<T> all) {
  slots_[static_cast<std::size_t>(rank)] = {mine.data(), mine.size_bytes()};
  barrier_.arrive_and_wait();
  // The members' counts must agree (each checked its own against `counts`): the same check on
  // every member, before anything is copied, so all throw together or none does.
  std::size_t total = 0;
  for (const auto& slot : slots_) total += slot.second;
  if (total != all.size_bytes()) throw std::logic_error("allgather: the members' counts disagree");
  std::size_t at = 0;
  for (const auto& [data, bytes] : slots_) {
    if (bytes != 0) std::memcpy(reinterpret_cast<std::uint8_t*>(all.data()) + at, data, bytes);
    at += bytes;
  }
  barrier_.arrive_and_wait();  // the slots stay valid until everyone has copied
}

void ThreadGroup::run(const std::function<void(const Comm&)>& body) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(size_));
  std::vector<std::thread> threads;
  for (int r = 0; r < size_; ++r)
    threads.emplace_back([this, r, &body, &errors] {
      try {
        body(Member(*this, r));
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace softreg::test
