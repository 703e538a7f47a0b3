"""Images and 1-D targets: values on [0, 1], modes normalized, bad input as one-line errors."""
import numpy as np
import pytest
from PIL import Image

from genlab.data.images import load_image, save_image
from genlab.data.targets import from_file, from_function, grid, sines
from genlab.errors import GenlabError


def test_image_modes_come_back_gray_or_rgb_on_0_1(tmp_path):
    rgba = np.zeros((8, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(np.full((8, 6), 1000, np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(rgba[..., :2].copy(), "LA").save(tmp_path / "la.png")
    a = load_image(tmp_path / "rgba.png")
    assert a.shape == (8, 6, 3) and a.dtype == np.float32 and a[0, 0, 0] == pytest.approx(200 / 255)
    assert load_image(tmp_path / "deep.png")[0, 0] == pytest.approx(1000 / 65535)   # 16-bit scale, not its max
    assert load_image(tmp_path / "la.png").shape == (8, 6)
    g = load_image(tmp_path / "rgba.png", gray=True, size=4)
    assert g.shape == (5, 4) and g.max() == pytest.approx(0.299 * 200 / 255, rel=1e-3)


def test_save_then_load_round_trips_to_8_bits(tmp_path):
    img = np.random.default_rng(0).uniform(size=(5, 7, 3)).astype(np.float32)
    save_image(img, tmp_path / "x.png")
    np.testing.assert_allclose(load_image(tmp_path / "x.png"), img, atol=0.5 / 255 + 1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_bad_images_and_targets_are_one_line_errors(tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    for call in (lambda: load_image(tmp_path / "bad.png"), lambda: load_image("nope.png"),
                 lambda: from_function("sin(x", grid(8)), lambda: from_file(tmp_path / "none.csv"),
                 lambda: sines(grid(8), (1, 2), (1.0,))):
        with pytest.raises(GenlabError) as e:
            call()
        assert "\n" not in str(e.value)


def test_targets():
    x = grid(16)
    assert x[0] == pytest.approx(-np.pi) and np.diff(x) == pytest.approx(np.full(15, 2 * np.pi / 16))
    np.testing.assert_allclose(from_function("sin(x) + 0.5*cos(3*x)", x), np.sin(x) + 0.5 * np.cos(3 * x))


def test_from_file_sorts_by_x(tmp_path):
    np.savetxt(tmp_path / "t.csv", np.array([[2.0, 20.0], [0.0, 0.0], [1.0, 10.0]]), delimiter=",")
    x, y = from_file(tmp_path / "t.csv")
    assert x.tolist() == [0.0, 1.0, 2.0] and y.tolist() == [0.0, 10.0, 20.0]
