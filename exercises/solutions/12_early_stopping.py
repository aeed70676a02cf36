"""Reference solution: exercises/12_early_stopping.py."""


def early_stopping_epochs(val_losses, patience, min_delta=0.0):
    best, best_epoch, without_improvement = None, 0, 0
    for epoch, loss in enumerate(val_losses):
        if best is None or loss < best - min_delta:
            best, best_epoch, without_improvement = loss, epoch, 0
            continue
        without_improvement += 1
        if without_improvement >= patience and epoch > 0:
            return epoch + 1, best_epoch + 1
    return len(val_losses), best_epoch + 1
