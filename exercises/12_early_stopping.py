"""
Title: Which epoch does EarlyStopping restore?
Slide topic: Early stopping: halt training when validation performance deteriorates
Functions: early_stopping_epochs(val_losses, patience, min_delta=0.0)
Grade: python -m tools grade early_stopping exercises/12_early_stopping.py

Task. A model is trained with

    keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                  min_delta=min_delta, restore_best_weights=True)

for len(val_losses) epochs at most, and its validation loss after epoch i (counting
from 1) would be val_losses[i - 1]. Write ``early_stopping_epochs(val_losses, patience,
min_delta=0.0)``, returning ``(epochs_run, restored_epoch)``: how many epochs training
runs before it stops, and the epoch whose weights the model has when fit returns.

Keras' rules: an epoch improves when its loss is below the best so far by more than
min_delta (strictly); after ``patience`` epochs in a row without improvement, training
stops (but never after the first epoch); with restore_best_weights=True the model then
gets the weights of the best epoch. Find out what happens when training reaches the last
epoch without stopping early: the Keras documentation, or a tiny experiment, will tell.

Example: val_losses = [0.8, 0.6, 0.7, 0.75], patience 2: epoch 2 is the best; epochs 3
and 4 do not improve, so training stops after epoch 4 and restores epoch 2: (4, 2).

The grader compares with Keras' own EarlyStopping on random validation curves and on
ties, patience 0, min_delta, a curve that never stops early, and one that only rises.
"""


def early_stopping_epochs(val_losses, patience, min_delta=0.0):
    # TODO: walk through the epochs keeping the best loss, its epoch, and how many
    # epochs in a row have not improved; stop as Keras does.
    raise NotImplementedError("TODO: write early_stopping_epochs")
