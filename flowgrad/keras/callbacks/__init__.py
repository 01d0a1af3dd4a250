"""Keras callbacks: code that ``fit``, ``evaluate`` and ``predict`` call at the start and end of
training, of each epoch and of each batch, to log, save, stop early or change the learning rate.

A callback sees the model (``stop_training``, ``optimizer.learning_rate``, ``get_weights`` /
``set_weights``, ``save`` / ``save_weights``) and the ``logs``: dicts of Python floats such as
``loss``, ``accuracy``, ``val_loss``. Checkpoints are safetensors files, never pickles.

The callbacks live in ``base`` (Callback, CallbackList, History, ProgbarLogger), ``monitor``
(EarlyStopping, ModelCheckpoint, ReduceLROnPlateau), ``loggers`` (TensorBoard, CSVLogger) and
``simple`` (LearningRateScheduler, TerminateOnNaN, LambdaCallback); all are importable from here.
"""

from flowgrad.keras.callbacks.base import Callback, CallbackList, History, Logs, ProgbarLogger
from flowgrad.keras.callbacks.loggers import CSVLogger, TensorBoard
from flowgrad.keras.callbacks.monitor import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from flowgrad.keras.callbacks.simple import LambdaCallback, LearningRateScheduler, TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN"]
