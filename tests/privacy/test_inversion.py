"""Model inversion on a linear model: the reconstruction points along w_target - w_other."""

import numpy as np
import pytest
import torch

from assay.core.errors import AssayInputError
from assay.privacy.inversion import model_inversion


def test_inversion_recovers_the_class_direction():
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 2)
    x = model_inversion(net, 1, np.zeros((3, 6)), steps=300, lr=0.05, l2=0.05)
    direction = (net.weight[1] - net.weight[0]).detach().numpy()
    cosine = x @ direction / (np.linalg.norm(x, axis=1) * np.linalg.norm(direction))
    assert np.all(cosine > 0.999)
    assert (net(torch.from_numpy(x)).argmax(1) == 1).all()
    clipped = model_inversion(net, [0, 1, 0], np.zeros((3, 6)), steps=50, clip=(-0.1, 0.1))
    assert clipped.min() >= -0.1 and clipped.max() <= 0.1
    with pytest.raises(AssayInputError, match="torch"):
        from sklearn.linear_model import LogisticRegression

        model_inversion(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]), 1, np.zeros((1, 4)))
