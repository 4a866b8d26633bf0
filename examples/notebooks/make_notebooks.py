#!/usr/bin/env python3
"""Writes the lesson's two notebooks from one list of cells, so that they keep the same cells in
the same order: regresion_softmax.ipynb (Spanish) and softmax_regression.ipynb (English), without
outputs (tests/notebooks_test.py executes them and checks what they compute).

    /usr/bin/python3 examples/notebooks/make_notebooks.py [--check]

--check writes nothing and exits 1 when a committed notebook differs from what this script makes.
A cell is ("md", spanish, english), or ("code", code, tags): one code for both languages, where
«spanish|english» marks what differs (comments, titles, printed words; the names in the code are
the same in both), or a (spanish, english) pair for the set-up cell. Tags name the cells whose
outputs the test checks.
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETUP = '''\
{comment_setup}
import gzip, os, shutil, subprocess, sys, time
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

ROOT = Path.cwd().resolve().parent.parent  # examples/notebooks -> the repository
try:
    import softreg
except ImportError:  # {comment_build}
    sys.path.insert(0, str(ROOT / "build" / "release" / "python"))
    import softreg
FASHION = Path(os.environ.get("SOFTREG_DATA") or "/usr/share/datasets/fashion-mnist")
TABLES = ROOT / "tests" / "data"
SOFTREG = (os.environ.get("SOFTREG_EXE") or shutil.which("softreg")
           or str(ROOT / "build" / "release" / "tools" / "softreg" / "softreg"))
CLASSES = {classes}


def fashion(part):
    """{doc_fashion}"""
    def idx(name):
        raw = gzip.open(FASHION / f"{{part}}-{{name}}-ubyte.gz").read()
        dims = raw[3]
        shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
    images, labels = idx("images-idx3"), idx("labels-idx1")
    return images.reshape(len(images), -1).astype(np.float32) * np.float32(1 / 255), labels


print("softreg", softreg.__version__, "·", FASHION)
'''

ES_CLASSES = ('["camiseta", "pantalón", "jersey", "vestido", "abrigo", "sandalia", "camisa",\n'
              '           "zapatilla", "bolso", "botín"]')
EN_CLASSES = ('["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",\n'
              '           "Sneaker", "Bag", "Ankle boot"]')

CELLS = [
    ("md",
     """# Regresión softmax, con softreg

Un clasificador de una sola capa, explicado paso a paso y calculado en vivo: primero la regresión
logística (dos clases), después la softmax (K clases) sobre Fashion-MNIST, la entropía como un
juego de adivinanzas, el bucle de entrenamiento, la versión concisa con PyTorch y, al final, lo que
hay más allá de la lección.

Ejecuta primero la celda de preparación; después, cada sección funciona por sí sola.""",
     """# Softmax regression, with softreg

A one-layer classifier, explained step by step and computed live: logistic regression first (two
classes), then softmax (K classes) on Fashion-MNIST, entropy as a guessing game, the training
loop, the concise version with PyTorch and, at the end, what lies beyond the lesson.

Run the set-up cell first; after it, every section runs on its own."""),
    ("code", (SETUP.format(comment_setup="# Preparación: la única celda que las demás necesitan.",
                           comment_build="sin instalar: el paquete del árbol de compilación",
                           classes=ES_CLASSES,
                           doc_fashion="Imágenes como filas float32 en [0, 1], y sus etiquetas."),
              SETUP.format(comment_setup="# Set-up: the only cell the others need.",
                           comment_build="not installed: the build tree's package",
                           classes=EN_CLASSES,
                           doc_fashion="Images as float32 rows in [0, 1], and their labels.")),
     []),

    ("md",
     """## 1. Regresión logística: ¿tiene este paciente la enfermedad?

Cada paciente es una fila de medidas (temperatura, saturación de oxígeno, cansancio) y la pregunta
tiene dos respuestas. La regresión logística suma las medidas con un peso cada una, más un sesgo:
z = w·x + b. Ese número puede ser cualquiera; la función sigmoide σ(z) = 1 / (1 + e⁻ᶻ) lo
convierte en una probabilidad entre 0 y 1. Los pacientes de esta tabla son inventados.""",
     """## 1. Logistic regression: does this patient have the disease?

Each patient is a row of measurements (temperature, oxygen saturation, fatigue) and the question
has two answers. Logistic regression adds up the measurements with a weight each, plus a bias:
z = w·x + b. That number can be anything; the sigmoid σ(z) = 1 / (1 + e⁻ᶻ) turns it into a
probability between 0 and 1. The patients in this table are made up."""),
    ("code",
     '''\
# «Temperatura|Temperature» (°C), «saturación de oxígeno|oxygen saturation» (%), «cansancio|fatigue» (0/1); y: 1 = «enfermo|has the disease».
patients = np.array([[39.2, 91, 1], [36.8, 98, 0], [38.5, 93, 1], [37.0, 97, 0],
«                      |                     »[39.8, 89, 1], [36.6, 99, 0], [38.9, 94, 0], [37.2, 96, 1],
«                      |                     »[40.1, 90, 1], [36.9, 97, 0]])
sick = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
model = make_pipeline(StandardScaler(), softreg.LogisticRegression()).fit(patients, sick)
new = np.array([[38.7, 92, 1], [36.7, 98, 0]])
for x, p in zip(new, model.predict_proba(new)[:, 1]):
    print(f"«paciente|patient» {x}: P(«enfermo|sick») = {p:.3f}")''',
     []),
    ("code",
     '''\
z = np.linspace(-8, 8, 200)
plt.figure(figsize=(6, 3))
plt.plot(z, softreg.ops.sigmoid(z))
plt.axhline(0.5, color="gray", lw=0.5)
plt.title("σ(z) = 1 / (1 + e⁻ᶻ): «de cualquier número|from any number to» a «una probabilidad|probability»")
plt.xlabel("z = w·x + b")
plt.show()''',
     []),
    ("md",
     """Ahora con datos reales: 569 tumores de mama, 30 medidas de los núcleos de sus células y el
diagnóstico (maligno o benigno). Las medidas tienen escalas muy distintas, así que se
estandarizan antes; se entrena con el 80 % y se mide la exactitud en el 20 % restante.""",
     """Now with real data: 569 breast tumours, 30 measurements of their cell nuclei and the
diagnosis (malignant or benign). The measurements have very different scales, so they are
standardised first; the model trains on 80% and its accuracy is measured on the other 20%."""),
    ("code",
     '''\
import csv
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
with open(TABLES / "breast_cancer.csv") as f:
    rows = list(csv.reader(f))
X = np.array([[float(v) for v in row[:-1]] for row in rows[1:]])
y = np.array([row[-1] for row in rows[1:]])
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
tumours = make_pipeline(StandardScaler(), softreg.LogisticRegression()).fit(X_tr, y_tr)
print(f"{X.shape[0]} «tumores|tumours», {X.shape[1]} «medidas|measurements»; «exactitud en prueba|test accuracy» "
      f"{tumours.score(X_te, y_te):.4f}")''',
     ["breast-cancer"]),

    ("md",
     """## 2. Softmax: de dos clases a K

Con K clases el modelo da K números por ejemplo (los *logits* o₁ … o_K). La softmax los convierte
en K probabilidades: exponenciar cada uno (todo se vuelve positivo), sumar la fila y dividir por
esa suma (la fila suma 1). Con dos clases, la softmax es exactamente la sigmoide de la diferencia:
softmax(o₀, o₁)₁ = σ(o₁ − o₀).""",
     """## 2. Softmax: from two classes to K

With K classes the model gives K numbers per example (the *logits* o₁ … o_K). Softmax turns them
into K probabilities: exponentiate each (everything becomes positive), sum the row and divide by
that sum (the row sums to 1). With two classes, softmax is exactly the sigmoid of the
difference: softmax(o₀, o₁)₁ = σ(o₁ − o₀)."""),
    ("code",
     '''\
O = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5]])
E = np.exp(O)
print("exp(O) =\\n", E.round(3))
S = E.sum(axis=1, keepdims=True)
print("«suma de cada fila|sum of each row» =", S.ravel().round(3))
print("exp(O) / «suma|sum» =\\n", (E / S).round(3))
print("softreg.ops.softmax(O) =\\n", softreg.ops.softmax(O).round(3))
print("«las filas suman|the rows sum to»", softreg.ops.softmax(O).sum(axis=1))''',
     []),
    ("code",
     '''\
z = np.array([-6.0, -1.5, 0.0, 0.7, 4.0])
two = softreg.ops.softmax(np.stack([np.zeros_like(z), z], axis=1))[:, 1]
print("softmax(0, z)₁ =", two)
print("σ(z)           =", softreg.ops.sigmoid(z))
print(f"«mayor diferencia|largest difference»: {np.abs(two - softreg.ops.sigmoid(z)).max():.1e}")''',
     ["two-classes"]),

    ("md",
     """## 3. Fashion-MNIST

70 000 imágenes de prendas de 28 × 28 píxeles en gris, de 10 clases: 60 000 para entrenar y
10 000 para probar. El modelo no ve una imagen sino una fila de 784 números (la imagen
*aplanada*), así que W tiene 784 × 10 pesos (una columna por clase) y b tiene 10.""",
     """## 3. Fashion-MNIST

70,000 grey 28 × 28 pictures of clothes in 10 classes: 60,000 to train on and 10,000 to test
with. The model does not see a picture but a row of 784 numbers (the picture *flattened*), so W
holds 784 × 10 weights (a column per class) and b holds 10."""),
    ("code",
     '''\
X, y = fashion("train")
print("X:", X.shape, "  y:", y.shape)
fig, axes = plt.subplots(2, 9, figsize=(13, 3.4))
for ax, row, label in zip(axes.flat, X, y):
    ax.imshow(row.reshape(28, 28), cmap="gray_r")
    ax.set_title(CLASSES[label], fontsize=9)
    ax.axis("off")
plt.show()
image = X[0].reshape(28, 28)
print("«una imagen|one image»:", image.shape, "-> «aplanada|flattened»:", image.reshape(-1).shape)
model = softreg.SoftmaxRegression(epochs=1).fit(X[:2000], y[:2000])
print("W:", model.coef_.T.shape, "  b:", model.intercept_.shape)''',
     []),

    ("md",
     """## 4. La softmax ingenua se desborda; la estable no

e^o crece muy deprisa: en doble precisión, e^710 ya es infinito, e ∞ / ∞ no es un número (NaN).
Pero la softmax no cambia si se resta lo mismo a toda la fila; restando el máximo, todos los
exponentes son ≤ 0 y nada se desborda. La misma idea da el log-sum-exp estable:
log Σ e^o = m + log Σ e^(o − m), con m el máximo.""",
     """## 4. The naive softmax overflows; the stable one does not

e^o grows very fast: in double precision e^710 is already infinite, and ∞ / ∞ is not a number
(NaN). But softmax does not change when the same amount is subtracted from a whole row;
subtracting the maximum makes every exponent ≤ 0, and nothing overflows. The same idea gives the
stable log-sum-exp: log Σ e^o = m + log Σ e^(o − m), with m the maximum."""),
    ("code",
     '''\
O = np.array([[1000.0, 1000.0, 999.0]])
print("«ingenua |naive  »:", softreg.ops.softmax_naive(O))
print("«estable|stable» :", softreg.ops.softmax(O))
print("logsumexp:", softreg.ops.logsumexp(O), "= 1000 + log(2 + 1/e)")''',
     ["overflow"]),

    ("md",
     """## 5. El modelo X Wᵀ + b y la entropía cruzada

Para un lote de n filas, los logits son O = X Wᵀ + b (n × K; softreg guarda W como K × 784, igual
que `nn.Linear`). La pérdida de una fila es −log de la probabilidad que el modelo da a la clase
verdadera. Escrita con un vector *one-hot* es una suma sobre las K clases, pero todos sus términos
menos uno valen 0: basta con *escoger* la probabilidad de la clase verdadera.""",
     """## 5. The model X Wᵀ + b and cross-entropy

For a batch of n rows the logits are O = X Wᵀ + b (n × K; softreg stores W as K × 784, as
`nn.Linear` does). A row's loss is −log of the probability the model gives its true class.
Written with a *one-hot* vector it is a sum over the K classes, but every term but one is 0: it
is enough to *pick* the true class's probability."""),
    ("code",
     '''\
rng = np.random.default_rng(0)
X = rng.normal(size=(4, 5))
W, b = rng.normal(0, 0.5, size=(3, 5)), np.array([0.1, 0.0, -0.1])
y = np.array([0, 2, 1, 2])
O = X @ W.T + b
P = softreg.ops.softmax(O)
pick = -np.log(P[np.arange(len(y)), y])
one_hot = np.eye(3)[y]
full = -(one_hot * np.log(P)).sum(axis=1)
print("«escogiendo      |picking         »:", pick.round(6))
print("«suma con |»one-hot«| sum     »:", full.round(6))
print("softreg         :", softreg.ops.cross_entropy(O, y).round(6))''',
     ["pick"]),

    ("md",
     """## 6. La entropía como un juego de adivinanzas

Alguien saca una bola de una bolsa y tú la adivinas con preguntas de sí o no. Con las bolas
1, 2, 3, 4 hacen falta 2 preguntas: la entropía, H = 2 bits. Con 1, 1, 1, 1, 2, 2, 3, 4 conviene
preguntar antes por la bola más probable: la mejor estrategia (el árbol de Huffman) necesita de
media 1,75 preguntas, que es su entropía. Jugar en esa bolsa con la estrategia de la primera
cuesta 2 preguntas: la entropía cruzada H(p, q); lo que se pierde por creer en la bolsa
equivocada, 0,25, es la divergencia KL. La pérdida de entrenamiento es esta misma entropía
cruzada (en nats): lo que el modelo paga por sus creencias sobre la clase verdadera.""",
     """## 6. Entropy as a guessing game

Someone draws a ball from a bag and you guess it with yes/no questions. With the balls 1, 2, 3, 4
you need 2 questions: the entropy, H = 2 bits. With 1, 1, 1, 1, 2, 2, 3, 4 it pays to ask about
the likeliest ball first: the best strategy (Huffman's tree) needs 1.75 questions on average,
its entropy. Playing that bag with the first bag's strategy costs 2 questions: the cross-entropy
H(p, q); what believing in the wrong bag costs, 0.25, is the KL divergence. The training loss is
this same cross-entropy (in nats): what the model pays for its beliefs about the true class."""),
    ("code",
     '''\
bag_1 = [1, 1, 1, 1]   # «una bola de cada|one ball of each»: 1, 2, 3, 4
bag_2 = [4, 2, 1, 1]   # 1, 1, 1, 1, 2, 2, 3, 4
print(f"H = {softreg.info.entropy(bag_1):.2f}   («bolsa|bag» 1, 2, 3, 4)")
print(f"H = {softreg.info.entropy(bag_2):.2f}   («bolsa|bag» 1, 1, 1, 1, 2, 2, 3, 4)")
print(f"H(p, q) = {softreg.info.cross_entropy(bag_2, bag_1):.2f}   («estrategia equivocada|the wrong strategy»)")
print(f"KL = {softreg.info.kl_divergence(bag_2, bag_1):.2f}")
# «La tabla del juego en la bolsa 2: la información de cada bola (−log₂ p), la mejor|The game's table for bag 2: each ball's information (−log₂ p), the best»
# «estrategia (respuestas: 1 = sí, 0 = no) y lo que cuesta la equivocada.|strategy (answers: 1 = yes, 0 = no) and what the wrong one costs.»
p, q = np.array(bag_2) / sum(bag_2), np.array(bag_1) / sum(bag_1)
code = softreg.info.huffman(bag_2)
print(f"\\n{'«bola|ball»':>6} {'p':>6} {'−log₂ p':>8} {'«respuestas|answers»':>11} {'«preguntas|questions»':>10} {'«equivocada|wrong»':>11}")
for ball in range(4):
    print(f"{ball + 1:>6} {p[ball]:>6.3f} {-np.log2(p[ball]):>8.2f} {code['codewords'][ball]:>11} "
          f"{code['lengths'][ball]:>10} {-np.log2(q[ball]):>11.0f}")
print(f"{'Σ p ·':>6} {'':>6} {softreg.info.entropy(bag_2):>8.2f} {'':>11} "
      f"{np.dot(p, code['lengths']):>10.2f} {softreg.info.cross_entropy(bag_2, bag_1):>11.2f}")''',
     ["game"]),
    ("code",
     '''\
# «El árbol de preguntas de la bolsa|The tree of questions for the bag» 1, 1, 1, 1, 2, 2, 3, 4: «cada nodo pregunta|each node asks» "«¿está entre|is it among» ...?"
tree = softreg.info.huffman([4, 2, 1, 1])
nodes, where = tree["nodes"], {}
def place(i, x, y, width):
    where[i] = (x, y)
    for child, dx in ((nodes[i]["yes"], -width), (nodes[i]["no"], width)):
        if child >= 0:
            place(child, x + dx, y - 1, width / 2)
place(tree["root"], 0.0, 0.0, 2.0)
plt.figure(figsize=(7, 3.5))
for i, (x, y) in where.items():
    for child, answer in ((nodes[i]["yes"], "«sí|yes»"), (nodes[i]["no"], "no")):
        if child >= 0:
            cx, cy = where[child]
            plt.plot([x, cx], [y, cy], color="gray")
            plt.text((x + cx) / 2, (y + cy) / 2, answer, fontsize=8, color="gray")
    balls = ", ".join(str(s + 1) for s in nodes[i]["symbols"])
    plt.text(x, y, f"{{{balls}}}", ha="center", va="center",
             bbox=dict(boxstyle="round", fc="white"))
plt.axis("off")
plt.title("«La mejor estrategia|The best strategy»: 1«,|.»75 «preguntas de media|questions on average»")
plt.show()''',
     []),

    ("md",
     """## 7. Exactitud, SGD por minilotes y el bucle de entrenamiento

La exactitud es la fracción de ejemplos cuya clase más probable es la verdadera. Para aprender,
el descenso de gradiente estocástico toma un minilote de 256 imágenes (en un orden nuevo en cada
época), calcula el gradiente de la pérdida media, que para la softmax es (P − one-hot)ᵀ X / n, y da
un paso: W ← W − 0,1 · gradiente. Primero un paso a mano, con numpy:""",
     """## 7. Accuracy, minibatch SGD and the training loop

Accuracy is the fraction of examples whose likeliest class is the true one. To learn,
stochastic gradient descent takes a minibatch of 256 pictures (in a new order every epoch),
computes the gradient of the mean loss, which for softmax is (P − one-hot)ᵀ X / n, and takes a
step: W ← W − 0.1 · gradient. First one step by hand, with numpy:"""),
    ("code",
     '''\
X, y = fashion("train")
rng = np.random.default_rng(0)
W, b = rng.normal(0, 0.01, size=(10, 784)), np.zeros(10)
batch = rng.permutation(len(y))[:256]
Xb, yb = X[batch], y[batch]
for step in range(3):
    O = Xb @ W.T + b
    P = softreg.ops.softmax(O)
    print(f"«paso|step» {step}: «pérdida|loss» {softreg.ops.cross_entropy(O, yb).mean():.4f}  "
          f"«exactitud|accuracy» {softreg.ops.accuracy(O, yb):.3f}")
    G = (P - np.eye(10)[yb]) / len(yb)
    W, b = W - 0.1 * G.T @ Xb, b - 0.1 * G.sum(axis=0)''',
     []),
    ("md",
     """El bucle completo de la lección: 10 épocas de minilotes de 256, tasa 0,1, W inicial de
N(0, 0,01²) y b = 0. `softreg.SoftmaxRegression` es ese bucle, en C++; imprime las mismas diez
líneas que `softreg train`.""",
     """The lesson's whole loop: 10 epochs of minibatches of 256, rate 0.1, initial W from
N(0, 0.01²) and b = 0. `softreg.SoftmaxRegression` is that loop, in C++; it prints the same ten
lines as `softreg train`."""),
    ("code",
     '''\
X, y = fashion("train")
X_test, y_test = fashion("t10k")
lesson = softreg.SoftmaxRegression().fit(X, y, eval_set=(X_test, y_test))
h = lesson.history_
for e in range(lesson.n_iter_):
    print(f"epoch {e + 1}  loss {h['loss'][e]:.4f}  train acc {h['train_accuracy'][e]:.4f}  "
          f"test acc {h['test_accuracy'][e]:.4f}  ({h['seconds'][e] - (h['seconds'][e - 1] if e else 0):.2f} s)")
epochs = np.arange(1, lesson.n_iter_ + 1)
fig, (a, c) = plt.subplots(1, 2, figsize=(11, 3.3))
a.plot(epochs, h["loss"], "o-", label="«entrenamiento|training»")
a.plot(epochs, h["test_loss"], "o-", label="«prueba|test»")
a.set_title("«pérdida|loss» («entropía cruzada media|mean cross-entropy»)"); a.set_xlabel("«época|epoch»"); a.legend()
c.plot(epochs, h["train_accuracy"], "o-", label="«entrenamiento|training»")
c.plot(epochs, h["test_accuracy"], "o-", label="«prueba|test»")
c.set_title("«exactitud|accuracy»"); c.set_xlabel("«época|epoch»"); c.legend()
plt.show()''',
     ["lesson"]),

    ("md",
     """## 8. Predicciones, errores y las plantillas de pesos

Cada imagen de prueba con su clase verdadera y la predicha; después solo los errores; y por
último cada columna de W vuelta a dibujar como una imagen de 28 × 28: la *plantilla* con la que el
modelo compara cada imagen (rojo: píxeles a favor de la clase; azul: en contra).""",
     """## 8. Predictions, mistakes and the weight templates

Test pictures with their true and predicted classes; then only the mistakes; and last each
column of W drawn back as a 28 × 28 picture: the *template* the model compares every picture
with (red: pixels for the class; blue: against it)."""),
    ("code",
     '''\
X, y = fashion("train")
X_test, y_test = fashion("t10k")
model = softreg.SoftmaxRegression().fit(X, y)
predicted = model.predict(X_test)
mistakes = np.flatnonzero(predicted != y_test)
for title, rows in (("«Predicciones|Predictions» («verdadera|true» / «predicha|predicted»)", np.arange(12)),
«                      |                    »("«Errores|Mistakes» («verdadera|true» / «predicha|predicted»)", mistakes[:12])):
    fig, axes = plt.subplots(1, 12, figsize=(15, 2.2))
    for ax, i in zip(axes, rows):
        ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{CLASSES[y_test[i]]}\\n{CLASSES[predicted[i]]}", fontsize=7,
                     color="black" if predicted[i] == y_test[i] else "red")
        ax.axis("off")
    fig.suptitle(title)
    plt.show()
fig, axes = plt.subplots(1, 10, figsize=(15, 2))
for k, ax in enumerate(axes):
    w = model.coef_[k].reshape(28, 28)
    ax.imshow(w, cmap="RdBu_r", vmin=-abs(w).max(), vmax=abs(w).max())
    ax.set_title(CLASSES[k], fontsize=8)
    ax.axis("off")
plt.show()''',
     []),

    ("md",
     """## 9. La versión concisa, con PyTorch

El mismo modelo con un framework: `nn.Flatten()` y `nn.Linear(784, 10)`, la pérdida
`nn.CrossEntropyLoss()` (que lleva dentro la log-softmax estable) y `torch.optim.SGD` con tasa 0,1,
10 épocas de minilotes de 256. Después, el mismo modelo en una llamada de softreg; se mide el
tiempo de cada uno. Las dos exactitudes no son idénticas: cada una depende del orden de los
minilotes (con otras semillas, PyTorch da entre 0,815 y 0,835 tras 10 épocas a tasa fija).""",
     """## 9. The concise version, with PyTorch

The same model with a framework: `nn.Flatten()` and `nn.Linear(784, 10)`, the loss
`nn.CrossEntropyLoss()` (the stable log-softmax inside) and `torch.optim.SGD` with rate 0.1, 10
epochs of minibatches of 256. Then the same model in one call of softreg; each one is timed.
The two accuracies are not identical: each depends on the order of the minibatches (with other
seeds, PyTorch gives 0.815 to 0.835 after 10 epochs at a constant rate)."""),
    ("code",
     '''\
import torch
from torch import nn
X, y = fashion("train")
X_test, y_test = fashion("t10k")
torch.manual_seed(0)
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
nn.init.normal_(net[1].weight, std=0.01)
nn.init.zeros_(net[1].bias)
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)))
batches = torch.utils.data.DataLoader(data, batch_size=256, shuffle=True)
start = time.perf_counter()
for epoch in range(10):
    for xb, yb in batches:
        l = loss(net(xb), yb)
        trainer.zero_grad()
        l.backward()
        trainer.step()
torch_seconds = time.perf_counter() - start
with torch.no_grad():
    torch_accuracy = (net(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean()
start = time.perf_counter()
fast = softreg.SoftmaxRegression().fit(X, y)
softreg_seconds = time.perf_counter() - start
print(f"pytorch {torch_accuracy:.4f} «en|in» {torch_seconds:.2f} s")
print(f"softreg {fast.score(X_test, y_test):.4f} «en|in» {softreg_seconds:.2f} s")''',
     ["concise"]),

    ("md",
     """## 10. Más allá de la lección

**El óptimo exacto.** SGD se detiene tras 10 épocas donde esté. Con una penalización L2 (la C de
scikit-learn) el objetivo tiene un único mínimo, y los métodos de Newton o L-BFGS lo alcanzan:
el mismo modelo que daría `sklearn.linear_model.LogisticRegression`, más deprisa. Aquí con
10 000 imágenes, dibujando cómo baja el objetivo en cada iteración.""",
     """## 10. Beyond the lesson

**The exact optimum.** SGD stops after 10 epochs wherever it is. With an L2 penalty
(scikit-learn's C) the objective has a single minimum, which Newton's method or L-BFGS reach:
the model `sklearn.linear_model.LogisticRegression` would give, faster. Here on 10,000 pictures,
plotting how the objective falls at each iteration."""),
    ("code",
     '''\
X, y = fashion("train")
X_test, y_test = fashion("t10k")
exact = softreg.LogisticRegression(C=1.0, solver="newton").fit(X[:10000], y[:10000])
h = exact.history_
print(f"{exact.n_iter_[0]} «iteraciones en|iterations in» {h['seconds'][-1]:.1f} s; «exactitud en prueba|test accuracy» "
      f"{exact.score(X_test, y_test):.4f}")
plt.figure(figsize=(6, 3))
plt.semilogy(np.arange(1, len(h["objective"]) + 1), h["objective"] - h["objective"][-1] + 1e-9, "o-")
plt.title("Newton: «objetivo|objective» − «mínimo|minimum», «por iteración|by iteration»")
plt.xlabel("«iteración|iteration»")
plt.show()''',
     ["exact"]),
    ("md",
     """**Un clasificador de textos.** Los mismos pesos y la misma softmax sirven para documentos: cada
texto se convierte en las palabras y pares de palabras que contiene (en columnas de un espacio
*hash*). Los datos, pequeños y reales, son los paquetes instalados en esta máquina Debian: de la
descripción de una línea de cada paquete, adivinar su sección (libs, python, utils, ...).
`softreg train --text` lee el formato de fastText (`__label__SECCIÓN texto`).""",
     """**A text classifier.** The same weights and the same softmax work on documents: each text
becomes the words and word pairs it holds (in the columns of a *hashed* space). The data, small
and real, are the packages installed on this Debian machine: from each package's one-line
description, guess its section (libs, python, utils, ...). `softreg train --text` reads
fastText's format (`__label__SECTION text`)."""),
    ("code",
     '''\
import collections, hashlib, tempfile
packages = {}
name = section = None
for line in Path("/var/lib/dpkg/status").read_text(errors="replace").splitlines():
    if line.startswith("Package: "): name = line[9:]
    elif line.startswith("Section: "): section = line[9:].split("/")[-1]
    elif line.startswith("Description: ") and name and section:
        packages[name] = (section, line[13:].lower())
    elif not line: name = section = None
counts = collections.Counter(s for s, _ in packages.values())
large = {s for s, n in counts.items() if n >= 40}
folder = Path(tempfile.mkdtemp())
with open(folder / "train.txt", "w") as tr, open(folder / "test.txt", "w") as te:
    for name, (s, text) in sorted(packages.items()):
        if s in large:
            test = int(hashlib.md5(name.encode()).hexdigest(), 16) % 5 == 0
            (te if test else tr).write(f"__label__{s} {text}\\n")
r = subprocess.run([SOFTREG, "train", "--text", folder / "train.txt", "--test",
                    folder / "test.txt", "--out", folder / "«texto|text».safetensors", "-q"],
                   capture_output=True, text=True)
print(r.stdout or r.stderr)
texts = softreg.load(folder / "«texto|text».safetensors")
for d in ["python bindings for the library", "command-line utility to compress files",
          "shared library for image decoding"]:
    print(f"{d!r} -> {texts.predict([d])[0]}")''',
     ["text"]),
]


def notebook(language):
    cells = []
    for number, (kind, *rest) in enumerate(CELLS):
        # The same id for the same cell in both languages (docs/lesson.md links to them).
        cell_id = f"cell-{number:02d}"
        if kind == "md":
            text = rest[0] if language == "es" else rest[1]
            cells.append({"cell_type": "markdown", "id": cell_id, "metadata": {},
                          "source": lines(text)})
        else:
            code, tags = rest
            if isinstance(code, tuple):
                code = code[0] if language == "es" else code[1]
            code = re.sub(r"«([^«»|]*)\|([^«»]*)»",
                          lambda m: m.group(1) if language == "es" else m.group(2), code)
            cells.append({"cell_type": "code", "id": cell_id, "execution_count": None,
                          "metadata": {"tags": tags} if tags else {}, "outputs": [],
                          "source": lines(code.rstrip("\n"))})
    return {"cells": cells,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def lines(text):
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + [parts[-1]]


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, language in (("regresion_softmax.ipynb", "es"), ("softmax_regression.ipynb", "en")):
        text = json.dumps(notebook(language), ensure_ascii=False, indent=1) + "\n"
        path = HERE / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        sys.exit(f"not what make_notebooks.py makes (run it): {', '.join(stale)}")


if __name__ == "__main__":
    main()
