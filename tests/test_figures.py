"""compare's figures, inspected as Figure objects (panels, lines, scales, legends), and as the PNG files
compare writes (size and not blank)."""

import math
import struct

import numpy as np
import pytest

from actcli import plots

LAYERS = ("conv1", "conv2", "fc1", "fc2")


def result(name, seed, accuracy, grad_first=0.3, epochs=3, std=0.5):
    """A task's result as saved, with per-layer numbers: accuracy climbing to `accuracy`."""
    def epoch(k):
        acc = accuracy * (0.8 + 0.2 * k / epochs)
        return {"epoch": k, "train_accuracy": acc - 0.01, "val_accuracy": acc, "train_loss": 1 - acc + 0.01,
                "val_loss": 1 - acc, "grad_norms": {"conv1": grad_first, "conv2": 0.4, "fc1": 0.8, "fc2": 1.0},
                "activations": {layer: {"mean": 0.1 * seed, "std": std, "dead_fraction": 0.0}
                                for layer in LAYERS[:3]},
                "dead_fraction": 0.0}
    return {"activation": name, "seed": seed, "diverged": False, "epochs": [epoch(k) for k in range(1, epochs + 1)],
            "activations_at_init": {layer: {"mean": 0.0, "std": 1.0, "dead_fraction": 0.0} for layer in LAYERS[:3]}}


SIX = [result(n, s, acc, grad_first=g) for n, acc, g in
       [("relu", 0.96, 0.3), ("leaky-relu", 0.95, 0.3), ("gelu-tanh", 0.95, 0.2), ("selu", 0.94, 0.07),
        ("elu", 0.94, 0.3), ("sigmoid", 0.10, 3e-5)] for s in (0, 1)]


def data_lines(ax):
    """The lines drawn from results (with markers), not the reference lines."""
    return [line for line in ax.get_lines() if line.get_marker() not in ("None", "", None)]


def test_curves_train_dashed_validation_solid_and_the_failure_does_not_set_the_scale():
    fig = plots.curves_figure(SIX)
    accuracy, loss = fig.axes
    assert len(data_lines(accuracy)) == len(data_lines(loss)) == 6 * 2            # train and val per activation
    assert {line.get_linestyle() for line in data_lines(accuracy)} == {"--", "-"}
    assert len(accuracy.collections) == 12                                        # a seeds band per line
    low, high = accuracy.get_ylim()
    lowest = 0.94 * (0.8 + 0.2 / 3) - 0.01                # elu and selu's training accuracy in epoch 1
    assert 0.7 < low < lowest and high > 0.96             # the learners fill the panel; sigmoid (≈ 0.1) is off it
    assert loss.get_ylim()[1] < 0.5
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[-1] == "validation" and texts[-2] == "training"
    assert any(t.startswith("sigmoid (2 seeds): failed to learn (val 10.0%)") for t in texts)
    assert sum("failed" in t for t in texts) == 1


def test_curves_when_every_activation_fails_scale_to_them():
    fig = plots.curves_figure([result("sigmoid", 0, 0.1), result("tanh", 0, 0.11)])
    assert fig.axes[0].get_ylim()[0] < 0.08 and not any("failed" in t.get_text() for t in fig.legends[0].get_texts())


def test_gradients_one_log_panel_per_activation_one_line_per_layer():
    fig = plots.gradients_figure(SIX)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes][-1] == "sigmoid (2 seeds)"
    for ax in fig.axes:
        assert ax.get_yscale() == "log" and len(data_lines(ax)) == 4
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[5])       # one scale for all
    sigmoid_conv1 = data_lines(fig.axes[5])[0].get_ydata()
    assert np.allclose(sigmoid_conv1, 3e-5)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(LAYERS)


def test_gradients_grid_for_five_activations_drops_the_empty_panel():
    assert len(plots.gradients_figure(SIX[:10]).axes) == 5


def test_activations_mean_and_std_per_layer_from_initialisation_with_the_fixed_point():
    fig = plots.activations_figure(SIX)
    assert len(fig.axes) == 6                                            # mean and std × three layers
    means, stds = fig.axes[:3], fig.axes[3:]
    for ax, fixed in [(ax, 0.0) for ax in means] + [(ax, 1.0) for ax in stds]:
        references = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
        assert len(references) == 1 and references[0].get_ydata()[0] == fixed
        assert len(data_lines(ax)) == 6
        assert list(data_lines(ax)[0].get_xdata()) == [0, 1, 2, 3]        # epoch 0: at initialisation
    assert data_lines(stds[0])[0].get_ydata()[0] == 1.0 and data_lines(stds[0])[0].get_ydata()[-1] == 0.5
    assert data_lines(means[0])[0].get_ydata()[-1] == pytest.approx(0.05)  # the mean of seeds 0 and 1


def test_a_diverged_seed_is_a_gap_not_an_error():
    bad = result("relu", 1, 0.9)
    bad["epochs"][1]["val_accuracy"] = math.nan
    bad["epochs"][1]["grad_norms"]["conv1"] = math.nan
    for draw in (plots.curves_figure, plots.gradients_figure, plots.activations_figure):
        draw([result("relu", 0, 0.9), bad])
    # where one seed diverged the mean is the other seed's number, not nan (a gap only where all did)
    fig = plots.curves_figure([result("relu", 0, 0.9), bad])
    val = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"][0]
    good = result("relu", 0, 0.9)["epochs"][1]["val_accuracy"]
    assert val.get_ydata()[1] == pytest.approx(good)
    alone = plots.curves_figure([bad])
    assert math.isnan([line for line in alone.axes[0].get_lines() if line.get_linestyle() == "-"][0].get_ydata()[1])


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_written_figures_are_the_size_drawn_and_not_blank(tmp_path):
    from matplotlib.image import imread

    from actcli.cli.compare import _write_figures

    names = _write_figures(tmp_path, SIX)
    assert names == ["curves.png", "gradients.png", "activations.png"]
    for name, draw in zip(names, (plots.curves_figure, plots.gradients_figure, plots.activations_figure), strict=True):
        width, height = png_size(tmp_path / name)
        w_in, h_in = draw(SIX).get_size_inches()
        assert abs(width - w_in * 120) <= 1 and abs(height - h_in * 120) <= 1
        pixels = imread(tmp_path / name)
        assert pixels[..., :3].std() > 0.05 and pixels[..., 3].min() == 1.0      # drawn on, and opaque
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)         # no temporary file left


def test_results_without_per_layer_numbers_draw_what_they_have():
    old = result("relu", 0, 0.9)
    for e in old["epochs"]:
        e["grad_norms"] = {"conv1": 0.3, "fc2": 1.0}    # what results saved before the per-layer numbers hold
        e["activations"] = {}
    del old["activations_at_init"]
    assert len(data_lines(plots.gradients_figure([old]).axes[0])) == 2
    assert plots.activations_figure([old]) is None
    for e in old["epochs"]:
        del e["grad_norms"]
    assert plots.gradients_figure([old]) is None


def test_no_results_no_figures(tmp_path):
    from actcli.cli.compare import _write_figures

    assert _write_figures(tmp_path, []) == [] and not list(tmp_path.iterdir())


def test_a_seed_that_stopped_early_hides_no_later_epoch_of_the_others():
    short = result("relu", 1, 0.9)
    short["epochs"] = short["epochs"][:1]                       # diverged after its first epoch
    ax = plots.curves_figure([result("relu", 0, 0.9), short]).axes[0]
    val = [line for line in data_lines(ax) if line.get_linestyle() == "-"][0]
    assert list(val.get_xdata()) == [1, 2, 3]
    assert val.get_ydata()[-1] == pytest.approx(0.9)           # epoch 3: the seed that went on, alone


@pytest.fixture
def drawn(monkeypatch):
    """The Figure objects `actcli plot` draws, caught on their way to the file."""
    from actcli import plots as P

    figures = []
    real = P.activation_figure

    def keep(*args, **kwargs):
        figures.append(real(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(P, "activation_figure", keep)
    return figures


def test_plot_draws_f_and_its_derivative_with_the_given_alpha(invoke, tmp_path, drawn):
    result = invoke("plot", "leaky-relu", "--alpha", "0.1", "--range", "-3", "2", "-o", tmp_path / "l.png")
    assert result.exit_code == 0, result.stderr
    (fig,) = drawn
    f_panel, df_panel = fig.axes                                  # two panels: f and f′
    for ax, oracle in ((f_panel, lambda x: np.where(x > 0, x, 0.1 * x)),      # by hand, α = 0.1
                       (df_panel, lambda x: np.where(x > 0, 1.0, 0.1))):
        (line,) = [l for l in ax.get_lines() if len(l.get_xdata()) > 2]     # the curve, not the axes' 0 lines
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert x[0] == -3 and x[-1] == 2 and ax.get_xlim() == (-3.0, 2.0)
        np.testing.assert_array_equal(y, oracle(x))


def test_plot_without_the_derivative_has_one_panel_and_overlays_several(invoke, tmp_path, drawn):
    result = invoke("plot", "relu", "tanh", "--no-derivative", "--range", "-1", "4", "-o", tmp_path / "t.png")
    assert result.exit_code == 0, result.stderr
    (fig,) = drawn
    (ax,) = fig.axes
    curves = [l for l in ax.get_lines() if len(l.get_xdata()) > 2]
    assert [l.get_label() for l in curves] == ["relu", "tanh"] and ax.get_xlim() == (-1.0, 4.0)
    x = np.asarray(curves[1].get_xdata())
    np.testing.assert_allclose(curves[1].get_ydata(), np.tanh(x), rtol=1e-15)
