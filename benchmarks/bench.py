"""Training speed of the project's default path against plain Keras defaults.

    python -m benchmarks.bench

Same model (the slides' 784-300-100-10 MLP), same data (full Fashion-MNIST, 55,000
training images), measured side by side in one run so that a busy machine slows both:

- plain Keras defaults: ``model.fit(x, y)`` on NumPy arrays, batch 32, one step per call;
- the project's path, exactly as the recipes train: ``training.seed_everything`` and
  ``training.fit`` (the recipes' training cell: ``model.fit`` on a tf.data pipeline that
  reshuffles each epoch, on either backend; ``steps_per_execution=32``)
  with the default
  batch size for this much data (``cli.default_batch_size``: 512 here);
- the project's path compiled with XLA (``jit_compile=True``), to show where it helps
  (TensorFlow only, with ``--xla``: JAX compiles every step with XLA anyway);

each without and with Dropout(0.2) + L2(1e-4), on each Keras backend asked for
(``--backend``; default: TensorFlow and JAX when JAX is installed), the backends'
configurations interleaved. The matmul floor is measured on each backend, and the
fraction of the floor is against the faster of the two. For each it prints seconds per epoch
(the median of the epochs after the first, which pays for tracing and, with XLA,
compiling, and is shown on its own; the fastest of ``--repeats`` fresh processes,
since a busy machine only ever adds time), samples per second, GFLOP/s, the fraction
of the machine's measured float32 matmul peak and of the "matmul floor" (the training
step's matrix products alone, in one compiled loop, at the project's batch size, also
the fastest of the repeats), and peak memory. Then it trains plain Keras and the
project's path with Dropout + L2 for ``--accuracy-epochs`` epochs on 3 seeds and
compares test accuracy, since speed bought with accuracy is no speed-up. It also times
the random draw behind Dropout, with and without XLA, which is why XLA loses with
Dropout on a CPU. Finally it
times ``python -m recipes list`` and ``--help``, and how soon a ``--quick`` run starts
training.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import cli
from common.errors import UsageError

HIDDEN = (300, 100)
INPUTS, CLASSES = 784, 10
# Multiply-adds per sample: the forward pass, the weight gradients (the same count), and
# the gradients passed back through layers 3 and 2 (none through layer 1: the input
# images need no gradient); 2 FLOPs per multiply-add.
_MACS = INPUTS * HIDDEN[0] + HIDDEN[0] * HIDDEN[1] + HIDDEN[1] * CLASSES
FLOPS_PER_SAMPLE = 2 * (2 * _MACS + HIDDEN[0] * HIDDEN[1] + HIDDEN[1] * CLASSES)
FORWARD_FLOPS_PER_SAMPLE = 2 * _MACS  # scoring: the forward pass alone
PLAIN, PROJECT, PROJECT_XLA = "plain Keras defaults", "project default", "project default + XLA"
PATHS = (PLAIN, PROJECT, PROJECT_XLA)
BACKEND_NAMES = {"tensorflow": "TF", "jax": "JAX"}


def backend_list(text):
    """'tensorflow,jax' -> ['tensorflow', 'jax'], each a backend the recipes take."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name not in cli.BACKENDS for name in names):
        raise argparse.ArgumentTypeError(f"must be comma-separated backends from "
                                         f"{', '.join(cli.BACKENDS)}, got '{text}'")
    return list(dict.fromkeys(names))


def default_backends():
    return [name for name in cli.BACKENDS if importlib.util.find_spec(name) is not None]
REGULARIZED = " + Dropout + L2"


def _build(regularized, steps_per_execution, jit_compile):
    import keras

    regularizer = keras.regularizers.L2(1e-4) if regularized else None
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten()])
    for units in HIDDEN:
        model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer))
        if regularized:
            model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(CLASSES, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    return model


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_training(path_name, regularized, epochs, seed, dataset):
    """Seconds per epoch (median after the first) and test accuracy of one configuration."""
    import keras

    from common import training
    from common.datasets import load_dataset
    from common.lesson_cells import train

    data = load_dataset(dataset, offline=True)
    stamps = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    if path_name == PLAIN:
        batch_size = 32
        keras.utils.set_random_seed(seed)
        model = _build(regularized, steps_per_execution=1, jit_compile="auto")
        started = time.perf_counter()
        model.fit(*data.train, validation_data=data.val, epochs=epochs,
                  batch_size=batch_size, callbacks=[clock], verbose=0)
    else:
        batch_size = cli.default_batch_size(len(data.y_train))
        training.seed_everything(seed)
        # "auto": no XLA on a CPU with TensorFlow (as in the recipes); JAX always compiles.
        model = _build(regularized, cli.DEFAULT_STEPS_PER_EXECUTION,
                       jit_compile=True if path_name == PROJECT_XLA else "auto")
        started = time.perf_counter()
        training.fit(train, model, data, callbacks=[clock], epochs=epochs,
                     batch_size=batch_size, seed=seed, verbose=0)
    per_epoch = [b - a for a, b in zip([started] + stamps, stamps)]
    test = model.evaluate(*data.test, batch_size=1024, verbose=0, return_dict=True)
    return {"epoch_seconds": statistics.median(per_epoch[1:] or per_epoch),
            "first_epoch_seconds": per_epoch[0], "samples": len(data.y_train),
            "batch_size": batch_size, "test_accuracy": test["accuracy"],
            "peak_mib": _peak_mib(), "source": data.source,
            "backend": keras.backend.backend()}


def matmul_peak(size=1024, repeats=50):
    """float32 GFLOP/s of repeated square matrix products in one compiled loop."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))

    @tf.function
    def loop():
        total = tf.zeros((size, size))
        for _ in tf.range(repeats):
            total += tf.matmul(a, b)
        return total

    loop()  # trace
    started = time.perf_counter()
    loop().numpy()
    seconds = time.perf_counter() - started
    return 2 * size ** 3 * repeats / seconds / 1e9


def dropout_draw_ms(shape=(512, HIDDEN[0]), draws=100):
    """Milliseconds per dropout-sized uniform draw: Keras' generator with and without
    XLA, and the one XLA draws fastest on a CPU (which Keras offers no switch for)."""
    import tensorflow as tf

    x = tf.ones(shape)
    timings = {}
    for name, alg, jit in (("auto_select", "auto_select", False),
                           ("auto_select + XLA", "auto_select", True),
                           ("threefry + XLA", "threefry", True)):
        @tf.function(jit_compile=jit)
        def masked_sums(seed, alg=alg):
            total = tf.zeros(())
            for i in tf.range(draws):
                noise = tf.random.stateless_uniform(shape, seed=tf.stack([seed, i]), alg=alg)
                total += tf.reduce_sum(tf.where(noise >= 0.2, x, 0.0))
            return total

        masked_sums(tf.constant(0)).numpy()  # trace and compile
        started = time.perf_counter()
        masked_sums(tf.constant(1)).numpy()
        timings[name] = (time.perf_counter() - started) / draws * 1000
    return timings


def matmul_floor(samples, batch_size=128):
    """Seconds per epoch of the training step's matrix products alone, nothing else."""
    import tensorflow as tf

    steps = samples // batch_size
    x = tf.random.normal((steps, batch_size, INPUTS))
    w1 = tf.random.normal((INPUTS, HIDDEN[0]))
    w2 = tf.random.normal((HIDDEN[0], HIDDEN[1]))
    w3 = tf.random.normal((HIDDEN[1], CLASSES))

    @tf.function
    def epoch():
        total = tf.constant(0.0)
        for i in tf.range(steps):
            xb = x[i]
            h1 = xb @ w1
            h2 = h1 @ w2
            out = h2 @ w3
            g3 = out  # stands in for the loss gradient: same shape, same cost
            g2 = g3 @ tf.transpose(w3)
            g1 = g2 @ tf.transpose(w2)
            grads = (tf.transpose(h2) @ g3, tf.transpose(h1) @ g2, tf.transpose(xb) @ g1)
            total += tf.add_n([tf.reduce_sum(g) for g in grads])
        return total

    epoch()  # trace
    times = []
    for _ in range(3):
        started = time.perf_counter()
        epoch().numpy()
        times.append(time.perf_counter() - started)
    return min(times)


def matmul_floor_jax(samples, batch_size=128):
    """``matmul_floor`` on JAX: the same matrix products in one compiled loop."""
    import jax
    import jax.numpy as jnp

    steps = samples // batch_size
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(keys[0], (steps, batch_size, INPUTS))
    w1 = jax.random.normal(keys[1], (INPUTS, HIDDEN[0]))
    w2 = jax.random.normal(keys[2], (HIDDEN[0], HIDDEN[1]))
    w3 = jax.random.normal(keys[3], (HIDDEN[1], CLASSES))

    @jax.jit
    def epoch(x, w1, w2, w3):
        def step(i, total):
            xb = x[i]
            h1 = xb @ w1
            h2 = h1 @ w2
            g3 = h2 @ w3  # stands in for the loss gradient: same shape, same cost
            g2 = g3 @ w3.T
            g1 = g2 @ w2.T
            grads = (h2.T @ g3, h1.T @ g2, xb.T @ g1)
            return total + sum(jnp.sum(g) for g in grads)
        return jax.lax.fori_loop(0, steps, step, jnp.float32(0))

    epoch(x, w1, w2, w3).block_until_ready()  # compile
    times = []
    for _ in range(3):
        started = time.perf_counter()
        epoch(x, w1, w2, w3).block_until_ready()
        times.append(time.perf_counter() - started)
    return min(times)


def _worker(function, args, queue, backend):
    os.environ["KERAS_BACKEND"] = backend  # before the function imports Keras
    queue.put(function(*args))


def in_fresh_process(function, *args, backend="tensorflow"):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_worker, args=(function, args, queue, backend))
    process.start()
    result = queue.get()
    process.join()
    return result


def command_seconds(argv, repeats=5):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, *argv], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def seconds_until_training(argv):
    """From starting ``python ARGS`` to Keras announcing the first epoch."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    seconds = None
    for line in process.stdout:
        if seconds is None and line.startswith("Epoch 1/"):
            seconds = time.perf_counter() - started
    process.wait()
    return seconds


def job_flops(results: dict) -> dict:
    """The floating-point work a finished comparison did, from its results.json: each
    trained run's epochs of training (forward and backward) and of scoring the validation
    split, and its final scoring of the training and validation splits (and the test
    split, read once per compared run). A validation-chosen record trains nothing."""
    data = results["config"]["data"]
    n_train, n_val, n_test = data["n_train"], data["n_val"], data["n_test"]
    trained = [r for r in results["rows"] if not r["variant"].endswith("_tuned")]
    epochs = sum(r["epochs_run"] or 0 for r in trained)
    tested = sum(r["test_accuracy"] is not None for r in results["rows"])
    return {"runs": len(trained), "epochs": epochs,
            "training": epochs * n_train * FLOPS_PER_SAMPLE,
            "validation": epochs * n_val * FORWARD_FLOPS_PER_SAMPLE,
            "scoring": (len(trained) * (n_train + n_val) + tested * n_test)
            * FORWARD_FLOPS_PER_SAMPLE}


def main_job(extra: list[str]) -> dict:
    """Time ``python -m tools compare`` (the README's main job, with ``extra`` flags) as
    a user runs it, start-up included, and set it against a compute floor: the FLOPs of
    its training and scoring passes at this machine's measured matmul rate."""
    out = Path(tempfile.mkdtemp(prefix="bench-main-job-")) / "compare"
    argv = ["-m", "tools", "compare", *extra, "--out", str(out)]
    print(f"main job: python {shlex.join(argv[:-2])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise UsageError(f"the main job ended with exit code {done.returncode}: "
                         + (done.stdout.strip().splitlines() or ["no output"])[-1])
    results = json.loads((out / "results.json").read_text())
    peak = in_fresh_process(matmul_peak)
    work = job_flops(results)
    total = work["training"] + work["validation"] + work["scoring"]
    floor = total / (peak * 1e9)
    fixed = [v for v in results["test_verdicts"] if v["strength"].startswith("fixed")]
    decided = [v for v in fixed
               if v["verdict"] not in ("undecided", "withheld", "no clear difference")]
    print(f"{seconds:.1f} s wall, start-up included; {work['runs']} runs, {work['epochs']} "
          f"epochs on {results['config']['data']['n_train']} training images "
          f"({results['config']['data']['dataset']}, {results['config']['backend']})")
    print(f"compute: {total / 1e9:,.0f} GFLOP (training {work['training'] / 1e9:,.0f}, "
          f"validation {work['validation'] / 1e9:,.0f}, final scoring "
          f"{work['scoring'] / 1e9:,.0f}); at the matmul peak of {peak:.0f} GFLOP/s that is "
          f"{floor:.1f} s: the job runs at {floor / seconds:.1%} of its compute floor")
    print(f"verdicts decided at the slide's strengths: {len(decided)} of {len(fixed)}; "
          f"{results['verdict']}")
    return {"seconds": seconds, "flops": work, "matmul_peak_gflops": peak,
            "floor_seconds": floor, "fraction_of_floor": floor / seconds,
            "decided": len(decided), "fixed": len(fixed), "out": str(out)}


def main(argv=None) -> dict:
    parser = cli.Parser(prog="python -m benchmarks.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--main-job", nargs="?", const="", default=None, metavar="'FLAGS'",
                        help="instead: time the README's main job (python -m recipes "
                             "compare, with FLAGS if given, e.g. '--backend jax') end to "
                             "end and print its fraction of a compute floor")
    parser.add_argument("--dataset", default="fashion_mnist",
                        choices=("fashion_mnist", "mnist", "mnist-5k"), help="data to train on")
    parser.add_argument("--backend", dest="backends", type=backend_list,
                        default=default_backends(),
                        metavar="NAME[,NAME]",
                        help="Keras backends to time side by side: tensorflow, jax or "
                             "tensorflow,jax (default: those installed)")
    parser.add_argument("--xla", action="store_true",
                        help="also time TensorFlow's path with jit_compile=True")
    parser.add_argument("--epochs", type=cli.positive_int, default=6,
                        help="epochs per speed measurement (the first is not counted)")
    parser.add_argument("--repeats", type=cli.positive_int, default=2,
                        help="fresh processes per speed measurement; the fastest counts")
    parser.add_argument("--accuracy-epochs", type=cli.non_negative_int, default=10,
                        help="epochs per accuracy comparison run (0: skip it)")
    parser.add_argument("--seeds", type=cli.positive_int, default=3,
                        help="seeds for the accuracy comparison")
    args = parser.parse_args(argv)
    if args.main_job is not None:
        return main_job(shlex.split(args.main_job))
    backends = args.backends
    for backend in backends:
        if importlib.util.find_spec(backend) is None:
            cli.select_backend(backend)  # one line with the install command
    if "tensorflow" not in backends:
        backends = ["tensorflow", *backends]  # plain Keras on TensorFlow: the reference
        print("(TensorFlow's plain Keras defaults are timed too: the speed-ups are "
              "against them)")

    peak = in_fresh_process(matmul_peak)
    print(f"float32 matmul peak (1024x1024, compiled loop): {peak:.0f} GFLOP/s", flush=True)
    draw = in_fresh_process(dropout_draw_ms)
    print("dropout's random numbers, 512x300 draw: " + ", ".join(
        f"{name} {ms:.2f} ms" for name, ms in draw.items()), flush=True)

    def label(backend, path, regularized):
        return (f"{BACKEND_NAMES[backend]} {path}" + (REGULARIZED if regularized else ""))

    plan = []
    for regularized in (False, True):
        for backend in backends:
            paths = [PLAIN, PROJECT] + ([PROJECT_XLA] if args.xla and backend == "tensorflow"
                                        else [])
            if backend not in args.backends:
                paths = [PLAIN]
            plan += [(backend, path, regularized) for path in paths]
    floor_functions = {"tensorflow": matmul_floor, "jax": matmul_floor_jax}
    speed, floors = {}, {}
    reference = label("tensorflow", PROJECT if "tensorflow" in args.backends else PLAIN, False)
    for repeat in range(args.repeats):  # interleaved, so a slow spell hits every path
        for backend, path, regularized in plan:
            result = in_fresh_process(time_training, path, regularized, args.epochs, 0,
                                      args.dataset, backend=backend)
            name = label(backend, path, regularized)
            if name not in speed or result["epoch_seconds"] < speed[name]["epoch_seconds"]:
                speed[name] = result
            print(f"  [{repeat + 1}/{args.repeats}] {name}: "
                  f"{result['epoch_seconds']:.3f} s per epoch", flush=True)
        samples = speed[reference]["samples"]
        batch_size = cli.default_batch_size(samples)
        for backend in args.backends:
            seconds = in_fresh_process(floor_functions[backend], samples, batch_size,
                                       backend=backend)
            floors[backend] = min(seconds, floors.get(backend, seconds))
            print(f"  [{repeat + 1}/{args.repeats}] {BACKEND_NAMES[backend]} matmul floor: "
                  f"{seconds:.3f} s per epoch", flush=True)
    samples = speed[reference]["samples"]
    batch_size = cli.default_batch_size(samples)
    floor = min(floors.values())
    floor_rate = samples / floor
    print(f"\ndata: {args.dataset} from {speed[reference]['source']}, {samples} training "
          f"samples; {FLOPS_PER_SAMPLE / 1e6:.2f} MFLOP per sample (forward + backward)")
    print(f"project default: batch {batch_size}, steps_per_execution "
          f"{cli.DEFAULT_STEPS_PER_EXECUTION}, the recipes' training cell (a tf.data pipeline "
          f"that reshuffles each epoch); plain: batch 32, steps_per_execution 1, "
          f"NumPy arrays")
    print("matmul floor at batch " + str(batch_size) + ": " + ", ".join(
        f"{BACKEND_NAMES[b]} {seconds:.3f} s per epoch" for b, seconds in floors.items())
        + f"; 'of floor' is against the faster ({floor_rate:,.0f} samples/s)\n")
    print(f"{'configuration':<44} {'s/epoch':>8} {'1st epoch':>9} {'samples/s':>10} "
          f"{'GFLOP/s':>8} {'of peak':>8} {'of floor':>9} {'peak MiB':>9}")
    for name, r in speed.items():
        rate = r["samples"] / r["epoch_seconds"]
        gflops = rate * FLOPS_PER_SAMPLE / 1e9
        r.update(samples_per_second=rate, gflops=gflops, fraction_of_peak=gflops / peak,
                 fraction_of_floor=rate / floor_rate)
        print(f"{name:<44} {r['epoch_seconds']:>8.3f} {r['first_epoch_seconds']:>9.3f} "
              f"{rate:>10,.0f} {gflops:>8.1f} {gflops / peak:>8.1%} "
              f"{rate / floor_rate:>9.1%} {r['peak_mib']:>9.0f}")
    speedups = {}
    for regularized in (False, True):
        plain_tf = speed[label("tensorflow", PLAIN, regularized)]["epoch_seconds"]
        for backend, path, reg in plan:
            name = label(backend, path, regularized)
            if reg != regularized or name == label("tensorflow", PLAIN, regularized):
                continue
            speedups[name] = plain_tf / speed[name]["epoch_seconds"]
            print(f"speed-up over TF plain Keras defaults"
                  f"{REGULARIZED if regularized else ''}: {name} {speedups[name]:.1f}x")

    accuracy = {}
    if args.accuracy_epochs:
        print(f"\ntest accuracy with Dropout + L2 after {args.accuracy_epochs} epochs, "
              f"seeds 0..{args.seeds - 1}:", flush=True)
        runs = [("tensorflow", PLAIN)] + [(backend, PROJECT) for backend in args.backends]
        for backend, path in runs:
            values = [in_fresh_process(time_training, path, True, args.accuracy_epochs,
                                       seed, args.dataset, backend=backend)["test_accuracy"]
                      for seed in range(args.seeds)]
            name = label(backend, path, False)
            accuracy[name] = values
            print(f"  {name:<26} {statistics.mean(values):.4f} "
                  f"({', '.join(f'{v:.4f}' for v in values)})", flush=True)
        plain = statistics.mean(accuracy[label("tensorflow", PLAIN, False)])
        for backend in args.backends:
            name = label(backend, PROJECT, False)
            print(f"  difference ({name} - TF plain): "
                  f"{(statistics.mean(accuracy[name]) - plain) * 100:+.2f} points")

    startup = {"list": command_seconds(["-m", "recipes", "list"]),
               "help": command_seconds(["-m", "recipes", "run", "mnist_mlp", "--help"]),
               "quick_run_trains_after": seconds_until_training(
                   ["-m", "recipes", "run", "mnist_mlp", "--quick", "--offline",
                    "--dataset", "mnist-5k", "--out", tempfile.mkdtemp(prefix="bench-")])}
    trains_after = startup["quick_run_trains_after"]
    print(f"\npython -m recipes list: {startup['list']:.2f} s; "
          f"run mnist_mlp --help: {startup['help']:.2f} s (best of 5); "
          f"run mnist_mlp --quick: " + (f"training starts after {trains_after:.1f} s"
                                        if trains_after is not None else
                                        "never started training (run it to see why)"))
    return {"matmul_peak_gflops": peak, "matmul_floor_seconds": floors,
            "dropout_draw_ms": draw, "speed": speed,
            "speedups": speedups, "accuracy": accuracy, "startup": startup}


if __name__ == "__main__":
    raise SystemExit(cli.console_main(main))
