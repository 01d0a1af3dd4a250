"""The progress bar and ProgbarLogger, read from fake streams on a fake clock: redraws with
``\\r`` on a terminal, only the final line elsewhere, Keras's look and numbers."""

import io

import pytest

from flowgrad.keras import progbar as progbar_module
from flowgrad.keras.callbacks import ProgbarLogger
from flowgrad.keras.progbar import Progbar


class Stream(io.StringIO):
    """An output stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


def run(bar, clock, steps, seconds_per_step, values=lambda step: [("loss", 1.0 / step)]):
    for step in range(1, steps + 1):
        clock.now += seconds_per_step
        bar.update(step, values(step))


def strip_colours(text: str) -> str:
    for code in ("\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"):
        text = text.replace(code, "")
    return text


def test_not_a_terminal_gets_the_final_line_only(clock):
    out = Stream(tty=False)
    run(Progbar(5, stream=out), clock, 5, 0.125)
    assert out.getvalue() == f"5/5 {'━' * 30} 1s 125ms/step - loss: 0.2000\n"


def test_terminal_redraws_in_place_with_eta_then_total_time(clock):
    out = Stream(tty=True)
    bar = Progbar(4, width=8, stream=out, interval=0)
    run(bar, clock, 4, 100.0)
    text = strip_colours(out.getvalue())
    assert "\x1b[32m" in out.getvalue()  # colours on a terminal
    draws = text.split("\r")[1:]
    assert len(draws) == 4 and text.startswith("\r") and text.endswith("\n")
    assert draws[0].rstrip() == "1/4 ━━━━━━━━ 5:00 100s/step - loss: 1.0000"
    assert draws[1].rstrip() == "2/4 ━━━━━━━━ 3:20 100s/step - loss: 0.7500"  # averaged
    assert draws[3] == "4/4 ━━━━━━━━ 400s 100s/step - loss: 0.2500\n"  # final: as given


def test_terminal_eta_in_hours_and_the_first_step_left_out(clock):
    out = Stream(tty=True)
    bar = Progbar(1000, stream=out)
    clock.now += 30.0  # the first step: warm-up
    bar.update(1)
    clock.now += 4.0
    bar.update(2)
    last = strip_colours(out.getvalue()).split("\r")[-1]
    assert "1:06:32 4s/step" in last  # 998 steps left at 4 s


def test_redraws_wait_for_the_interval_and_shorter_lines_are_padded(clock):
    out = Stream(tty=True)
    bar = Progbar(10, stream=out, interval=1.0, stateful_metrics=["loss"])
    bar.update(1, [("loss", 123456.0)])
    bar.update(2, [("loss", 1.0)])  # no time has passed: not drawn
    assert out.getvalue().count("\r") == 1
    clock.now += 2.0
    bar.update(3, [("loss", 0.5)], finalize=False)
    first, second = strip_colours(out.getvalue()).split("\r")[1:]
    assert len(second) == len(first) and second.endswith(" ")


def test_stateful_metrics_are_shown_as_given(clock):
    out = Stream(tty=True)
    bar = Progbar(3, stream=out, interval=0, stateful_metrics=["accuracy"])
    bar.update(1, [("loss", 1.0), ("accuracy", 0.25)])
    bar.update(2, [("loss", 0.0), ("accuracy", 0.75)])
    assert strip_colours(out.getvalue()).split("\r")[-1].endswith(
        "- loss: 0.5000 - accuracy: 0.7500")
    out = Stream(tty=True)
    bar = Progbar(3, stream=out, interval=0, stateless_metrics=["loss"])
    bar.update(1, [("loss", 1.0), ("accuracy", 0.25)])
    bar.update(2, [("loss", 0.0), ("accuracy", 0.75)])
    assert strip_colours(out.getvalue()).split("\r")[-1].endswith(
        "- loss: 0.5000 - accuracy: 0.7500")


def test_small_values_in_scientific_notation(clock):
    out = Stream(tty=False)
    Progbar(1, stream=out).update(1, [("loss", 1e-5)])
    assert out.getvalue().endswith("- loss: 1.0000e-05\n")


def test_verbose_2_prints_one_line_at_the_end(clock):
    out = Stream(tty=True)
    bar = Progbar(50, verbose=2, stream=out)
    run(bar, clock, 49, 0.08)
    assert out.getvalue() == ""
    clock.now += 0.08
    bar.update(50, [("loss", 0.4321), ("accuracy", 0.8123)])
    assert out.getvalue() == "50/50 - 4s - 80ms/step - loss: 0.4321 - accuracy: 0.8123\n"


def test_unknown_target(clock):
    out = Stream(tty=True)
    bar = Progbar(None, stream=out, interval=0)
    run(bar, clock, 3, 1.0)
    text = strip_colours(out.getvalue())
    assert text.split("\r")[-1] == "      3/Unknown 3s 1s/step - loss: 0.6111"
    assert "\n" not in text  # never finalised by itself
    clock.now += 1.0
    bar.update(4, [("loss", 0.25)], finalize=True)
    assert strip_colours(out.getvalue()).endswith("      4/Unknown 4s 1s/step - loss: 0.2500\n")
    quiet = Stream(tty=False)
    bar = Progbar(None, stream=quiet)
    run(bar, clock, 3, 1.0)
    assert quiet.getvalue() == ""
    bar.update(3, finalize=True)
    assert quiet.getvalue() == "      3/Unknown 3s 1s/step - loss: 0.6111\n"


def test_add_and_verbose_0(clock):
    out = Stream(tty=False)
    bar = Progbar(4, stream=out, unit_name="sample")
    bar.add(2)
    clock.now += 0.5
    bar.add(2)
    assert out.getvalue() == f"4/4 {'━' * 30} 0s 125ms/sample\n"
    silent = Stream(tty=True)
    run(Progbar(3, verbose=0, stream=silent), clock, 3, 1.0)
    assert silent.getvalue() == ""


def test_stops_early_shows_a_partial_bar(clock):
    out = Stream(tty=False)
    bar = Progbar(4, width=4, stream=out)
    bar.update(2, finalize=True)
    assert out.getvalue().startswith("2/4 ━━── ")


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"target": -1}, r"Progbar\(target=-1\)"),
    ({"target": 2.5}, r"an int >= 0\) or None"),
    ({"target": 3, "verbose": 3}, r"verbose is 0, 1 or 2"),
    ({"target": 3, "stateful_metrics": ["a"], "stateless_metrics": ["b"]}, r"not both"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Progbar(**kwargs)


# -- ProgbarLogger ---------------------------------------------------------------------------

def drive(logger, epochs, steps, verbose, clock):
    """The hooks of a fit with validation, as Keras calls them."""
    logger.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
    logger.on_train_begin({})
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch, {})
        for step in range(steps):
            clock.now += 0.25
            logger.on_train_batch_begin(step, {})
            logger.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
        for step in range(2):  # validation: no bar of its own
            logger.on_test_batch_end(step, {"loss": 9.0})
        logger.on_epoch_end(epoch, {"loss": 0.5 - epoch / 10, "val_loss": 0.75})
    logger.on_train_end({})


def test_progbar_logger_in_a_log_file(clock):
    out = Stream(tty=False)
    drive(ProgbarLogger(stream=out), epochs=2, steps=3, verbose=1, clock=clock)
    bar = "━" * 30
    assert out.getvalue() == (f"Epoch 1/2\n3/3 {bar} 1s 250ms/step - loss: 0.5000 - "
                              f"val_loss: 0.7500\n"
                              f"Epoch 2/2\n3/3 {bar} 1s 250ms/step - loss: 0.4000 - "
                              f"val_loss: 0.7500\n")


def test_progbar_logger_on_a_terminal_shows_batch_logs_as_given(clock):
    out = Stream(tty=True)
    drive(ProgbarLogger(stream=out), epochs=1, steps=3, verbose=1, clock=clock)
    text = strip_colours(out.getvalue())
    assert not text.startswith("Epoch")  # one epoch: no header
    draws = text.split("\r")[1:]
    assert draws[1].rstrip().endswith("- loss: 0.5000")  # running results, not re-averaged
    assert draws[-1].endswith("- loss: 0.5000 - val_loss: 0.7500\n")
    assert "9.0000" not in text


def test_progbar_logger_verbose_2_and_unknown_steps(clock):
    out = Stream(tty=True)
    drive(ProgbarLogger(stream=out), epochs=2, steps=4, verbose=2, clock=clock)
    assert out.getvalue() == ("Epoch 1/2\n4/4 - 1s - 250ms/step - loss: 0.5000 - val_loss: "
                              "0.7500\nEpoch 2/2\n4/4 - 1s - 250ms/step - loss: 0.4000 - "
                              "val_loss: 0.7500\n")
    out = Stream(tty=False)
    logger = ProgbarLogger(stream=out)
    logger.set_params({"verbose": 1, "epochs": 1, "steps": None})
    logger.on_train_begin({})
    logger.on_epoch_begin(0, {})
    for step in range(5):
        logger.on_train_batch_end(step, {"loss": 1.0})
    logger.on_epoch_end(0, {"loss": 1.0})
    assert out.getvalue().startswith(f"5/5 {'━' * 30} ")


def test_progbar_logger_for_evaluate_and_predict(clock):
    out = Stream(tty=False)
    logger = ProgbarLogger(stream=out)
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 2})
    logger.on_test_begin({})
    for step in range(2):
        logger.on_test_batch_end(step, {"loss": 2.0, "accuracy": 0.5})
    logger.on_test_end({"loss": 2.0, "accuracy": 0.5})
    logger.on_predict_begin({})
    for step in range(2):
        logger.on_predict_batch_end(step, {"outputs": [1, 2]})
    logger.on_predict_end({})
    assert out.getvalue() == (f"2/2 {'━' * 30} 0s 0s/step - loss: 2.0000 - accuracy: 0.5000\n"
                              f"2/2 {'━' * 30} 0s 0s/step\n")
