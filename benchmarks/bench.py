"""Training speed of the project's default path against plain Keras defaults.

    python -m benchmarks.bench            (also: python -m recipes bench)

Same model (the slides' 784-300-100-10 MLP), same data (full Fashion-MNIST, 55,000
training images), measured side by side in one run so that a busy machine slows both:

- plain Keras defaults: ``model.fit(x, y)`` on NumPy arrays, batch 32, one step per call;
- the project's path (``common.training.fit``): a tf.data pipeline, batch 128,
  ``steps_per_execution=32``;

each without and with Dropout(0.2) + L2(1e-4). For each it prints seconds per epoch
(epochs after the first, which pays for tracing), samples per second, GFLOP/s, the
fraction of the machine's measured float32 matmul peak and of the "matmul floor" (the
training step's matrix products alone, in one compiled loop), and peak memory. Then it
trains both paths with Dropout + L2 for ``--accuracy-epochs`` epochs on 3 seeds and
compares test accuracy, since speed bought with accuracy is no speed-up. Finally it
times ``python -m recipes list`` and ``--help``.

Every configuration runs in a fresh process, so peak memory is its own.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import subprocess
import sys
import time

from common import cli

HIDDEN = (300, 100)
INPUTS, CLASSES = 784, 10
# Multiply-adds of one forward pass, times 2 FLOPs, times 3 for forward + backward.
FLOPS_PER_SAMPLE = 3 * 2 * (INPUTS * HIDDEN[0] + HIDDEN[0] * HIDDEN[1] + HIDDEN[1] * CLASSES)
PATHS = {
    "plain Keras defaults": {"batch_size": 32, "steps_per_execution": 1, "pipeline": False},
    "project default": {"batch_size": 128, "steps_per_execution": 32, "pipeline": True},
}


def _build(regularized, steps_per_execution):
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
                  steps_per_execution=steps_per_execution)
    return model


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_training(path_name, regularized, epochs, seed, dataset):
    """Seconds per epoch (after the first) and test accuracy of one configuration."""
    import keras

    from common import training
    from common.datasets import load_dataset

    settings = PATHS[path_name]
    data = load_dataset(dataset, offline=True)
    keras.utils.set_random_seed(seed)
    model = _build(regularized, settings["steps_per_execution"])
    stamps = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()))
    started = time.perf_counter()
    if settings["pipeline"]:
        training.fit(model, data, callbacks=[clock], epochs=epochs,
                     batch_size=settings["batch_size"], seed=seed, verbose=0)
    else:
        model.fit(*data.train, validation_data=data.val, epochs=epochs,
                  batch_size=settings["batch_size"], callbacks=[clock], verbose=0)
    per_epoch = [b - a for a, b in zip([started] + stamps, stamps)]
    test = model.evaluate(*data.test, batch_size=1024, verbose=0, return_dict=True)
    return {"epoch_seconds": statistics.median(per_epoch[1:] or per_epoch),
            "first_epoch_seconds": per_epoch[0], "samples": len(data.y_train),
            "test_accuracy": test["accuracy"], "peak_mib": _peak_mib(),
            "source": data.source}


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


def _worker(function, args, queue):
    queue.put(function(*args))


def in_fresh_process(function, *args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_worker, args=(function, args, queue))
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


def main(argv=None) -> dict:
    parser = cli.Parser(prog="python -m benchmarks.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion_mnist",
                        choices=("fashion_mnist", "mnist", "mnist-5k"), help="data to train on")
    parser.add_argument("--epochs", type=cli.positive_int, default=4,
                        help="epochs per speed measurement (the first is not counted)")
    parser.add_argument("--accuracy-epochs", type=cli.non_negative_int, default=10,
                        help="epochs per accuracy comparison run (0: skip it)")
    parser.add_argument("--seeds", type=cli.positive_int, default=3,
                        help="seeds for the accuracy comparison")
    args = parser.parse_args(argv)

    peak = in_fresh_process(matmul_peak)
    print(f"float32 matmul peak (1024x1024, compiled loop): {peak:.0f} GFLOP/s")
    speed = {}
    for regularized in (False, True):
        for path_name in PATHS:
            label = f"{path_name}{' + Dropout + L2' if regularized else ''}"
            speed[label] = in_fresh_process(time_training, path_name, regularized,
                                            args.epochs, 0, args.dataset)
    samples = next(iter(speed.values()))["samples"]
    floor = in_fresh_process(matmul_floor, samples)
    floor_rate = samples / floor
    print(f"data: {args.dataset} from {next(iter(speed.values()))['source']}, "
          f"{samples} training samples; {FLOPS_PER_SAMPLE / 1e6:.2f} MFLOP per sample "
          "(forward + backward)")
    print(f"matmul floor: {floor:.3f} s per epoch ({floor_rate:,.0f} samples/s)\n")
    print(f"{'configuration':<40} {'s/epoch':>8} {'samples/s':>10} {'GFLOP/s':>8} "
          f"{'of peak':>8} {'of floor':>9} {'peak MiB':>9}")
    for label, r in speed.items():
        rate = r["samples"] / r["epoch_seconds"]
        gflops = rate * FLOPS_PER_SAMPLE / 1e9
        r.update(samples_per_second=rate, gflops=gflops, fraction_of_peak=gflops / peak,
                 fraction_of_floor=rate / floor_rate)
        print(f"{label:<40} {r['epoch_seconds']:>8.3f} {rate:>10,.0f} {gflops:>8.1f} "
              f"{gflops / peak:>8.1%} {rate / floor_rate:>9.1%} {r['peak_mib']:>9.0f}")
    plain, project = "plain Keras defaults", "project default"
    for suffix in ("", " + Dropout + L2"):
        ratio = speed[plain + suffix]["epoch_seconds"] / speed[project + suffix]["epoch_seconds"]
        print(f"speed-up{suffix or ' (no regularization)'}: {ratio:.1f}x")

    accuracy = {}
    if args.accuracy_epochs:
        print(f"\ntest accuracy with Dropout + L2 after {args.accuracy_epochs} epochs, "
              f"seeds 0..{args.seeds - 1}:")
        for path_name in PATHS:
            values = [in_fresh_process(time_training, path_name, True, args.accuracy_epochs,
                                       seed, args.dataset)["test_accuracy"]
                      for seed in range(args.seeds)]
            accuracy[path_name] = values
            print(f"  {path_name:<22} {statistics.mean(values):.4f} "
                  f"({', '.join(f'{v:.4f}' for v in values)})")
        gap = statistics.mean(accuracy[project]) - statistics.mean(accuracy[plain])
        print(f"  difference (project - plain): {gap * 100:+.2f} points")

    startup = {"list": command_seconds(["-m", "recipes", "list"]),
               "help": command_seconds(["-m", "recipes", "run", "mnist_mlp", "--help"])}
    print(f"\npython -m recipes list: {startup['list']:.2f} s; "
          f"run mnist_mlp --help: {startup['help']:.2f} s (best of 5)")
    return {"matmul_peak_gflops": peak, "matmul_floor_seconds": floor, "speed": speed,
            "accuracy": accuracy, "startup": startup}


if __name__ == "__main__":
    raise SystemExit(cli.console_main(main))
