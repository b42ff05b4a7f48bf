"""Small seeded float64 torch models shared by the explanation tests."""

import torch


def mlp():
    """5 features -> 3 classes."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def cnn():
    """(n, 1, 8, 8) images -> 4 classes."""
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(3 * 6 * 6, 4)).double()
