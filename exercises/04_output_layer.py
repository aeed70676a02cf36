"""
Title: Choosing the output layer and the loss
Slide topic: Output layer: regression task, classification task
Functions: output_layer(task, n)
Grade: python -m tools grade output_layer exercises/04_output_layer.py

Task. Write ``output_layer(task, n)``, returning ``(units, activation, loss)``: the number
of output units, the output activation and the loss a network for ``task`` should have,
as the names Keras accepts (so that ``Dense(units, activation=activation)`` and
``model.compile(loss=loss)`` work).

``task`` is one of (``n`` is the number of target values, labels or classes):

    "regression"                  real-valued targets, n of them
    "positive regression"         targets that are always > 0
    "regression in [0, 1]"        targets between 0 and 1
    "regression in [-1, 1]"       targets between -1 and 1
    "binary classification"       two classes (n = 2)
    "multi-label classification"  n yes/no labels, any number of them true at once
    "multi-class classification"  exactly one of n classes

Names to choose from: activations "linear", "relu", "softplus", "sigmoid", "tanh",
"softmax"; losses "mse" (mean squared error), "binary_crossentropy",
"categorical_crossentropy" (or "sparse_categorical_crossentropy" for integer labels).
Any other task: raise ValueError.

The grader checks every task with a number n it picks, and an unknown task.
"""


def output_layer(task, n):
    # TODO: follow the slides' two tables (regression, classification); mind how many
    # units a binary classifier needs.
    raise NotImplementedError("TODO: write output_layer")
