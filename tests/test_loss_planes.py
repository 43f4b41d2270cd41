import pytest
import torch

from tdca_lib.experiments import loss_planes


def line(direction, steps=5, start=None):
    start = torch.zeros_like(direction) if start is None else start
    return start + torch.arange(steps + 1.0)[:, None] * direction


def test_main_direction_of_a_straight_path_is_its_direction_pointing_forward():
    direction = torch.tensor([3.0, 4.0, 0.0])
    assert torch.allclose(loss_planes.main_direction(line(direction)), direction / 5)
    assert torch.allclose(loss_planes.main_direction(line(-direction)), -direction / 5)


def test_orthogonal_paths_have_cosine_zero_and_span_their_plane():
    a, b = line(torch.tensor([1.0, 0, 0, 0])), line(torch.tensor([0, 2.0, 0, 0]))
    plane, cos = loss_planes.plane_of(a, b)
    assert cos == pytest.approx(0.0)
    assert torch.allclose(plane.project(b)[:, 1], torch.arange(6.0) * 2)
    assert torch.allclose(plane.captured(b[1:]), torch.ones(5))
    off = torch.tensor([[0, 0, 3.0, 4.0]])  # entirely out of the plane
    assert plane.captured(off).item() == pytest.approx(0.0)


def test_related_paths_have_their_cosine_and_an_orthonormal_plane():
    a = line(torch.tensor([1.0, 0.0]))
    b = line(torch.tensor([1.0, 1.0]))
    plane, cos = loss_planes.plane_of(a, b)
    assert cos == pytest.approx(2**-0.5)
    assert torch.allclose(plane.axes @ plane.axes.T, torch.eye(2), atol=1e-6)
    with pytest.raises(ValueError, match="no plane"):
        loss_planes.plane_of(a, line(torch.tensor([2.0, 0.0])))
    with pytest.raises(ValueError, match="never leaves"):
        loss_planes.main_direction(torch.zeros(4, 2))


def test_surface_evaluates_the_loss_on_the_plane():
    origin = torch.tensor([1.0, -1.0, 0.5])
    plane = loss_planes.Plane(origin, torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))

    def loss(points):  # squared distance from the origin: x^2 + y^2 on the plane
        return ((points - origin) ** 2).sum(-1)

    xs, ys, values = loss_planes.surface(loss, plane, (-1, 1, -2, 2), n=5, chunk=3)
    assert values.shape == (5, 5)
    assert torch.allclose(values, ys[:, None] ** 2 + xs[None, :] ** 2)


def test_extent_covers_every_path_with_a_margin():
    x0, x1, y0, y1 = loss_planes.extent_around(torch.tensor([[0.0, 0.0], [2.0, 1.0]]),
                                             torch.tensor([[-1.0, 3.0]]), margin=0.5)
    assert (x0, x1, y0, y1) == (-2.5, 3.5, -1.5, 4.5)
