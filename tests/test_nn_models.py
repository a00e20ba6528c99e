"""graphgrad.models.resnet18 against torchvision's architecture. torchvision is not installed, so
its state_dict keys are written out here, and its forward pass is rebuilt from torch.nn below
(the same code as torchvision.models.resnet, BasicBlock only) to compare numbers."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import graphgrad as gg
from nn_helpers import assert_close, to_graphgrad

BN = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def torchvision_resnet18_keys():
    """torchvision.models.resnet18().state_dict().keys(), in order."""
    keys = ["conv1.weight"] + [f"bn1.{k}" for k in BN]
    for layer in range(1, 5):
        for block in range(2):
            p = f"layer{layer}.{block}."
            keys += [p + "conv1.weight"] + [p + f"bn1.{k}" for k in BN]
            keys += [p + "conv2.weight"] + [p + f"bn2.{k}" for k in BN]
            if layer > 1 and block == 0:
                keys += [p + "downsample.0.weight"] + [p + f"downsample.1.{k}" for k in BN]
    return keys + ["fc.weight", "fc.bias"]


SHAPES = {
    "conv1.weight": (64, 3, 7, 7), "bn1.running_var": (64,), "bn1.num_batches_tracked": (),
    "layer1.0.conv1.weight": (64, 64, 3, 3), "layer2.0.conv1.weight": (128, 64, 3, 3),
    "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer3.1.conv2.weight": (256, 256, 3, 3),
    "layer4.0.downsample.1.weight": (512,), "fc.weight": (1000, 512), "fc.bias": (1000,),
}


def test_resnet18_state_dict_matches_torchvision():
    model = gg.models.resnet18()
    state = model.state_dict()
    assert list(state) == torchvision_resnet18_keys()
    for key, shape in SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    assert sum(p.numel() for p in model.parameters()) == 11689512  # torchvision's count
    assert state["bn1.num_batches_tracked"].dtype is gg.int64
    assert gg.models.resnet18(num_classes=10).fc.weight.shape == (10, 512)


def test_resnet18_repr_head_and_block():
    text = repr(gg.models.resnet18())
    assert text.startswith("ResNet(\n  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), "
                           "bias=False)\n  (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                           "track_running_stats=True)\n  (relu): ReLU(inplace=True)\n  (maxpool): MaxPool2d("
                           "kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)\n")
    assert "      (downsample): Sequential(\n        (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), " \
           "bias=False)\n" in text
    assert text.endswith("  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))\n  (fc): Linear(in_features=512, "
                         "out_features=1000, bias=True)\n)")


def test_resnet_initialisation_as_torchvision():
    model = gg.models.resnet18()
    w = model.layer1[0].conv1.weight.detach().numpy()
    assert abs(w.std() - np.sqrt(2 / (64 * 9))) < 0.002  # kaiming_normal_, fan_out, relu
    assert model.layer1[0].bn1.weight.sum().item() == 64 and model.layer1[0].bn1.bias.abs().sum().item() == 0
    zero = gg.models.resnet18(zero_init_residual=True)
    assert zero.layer1[0].bn2.weight.abs().sum().item() == 0


def test_pretrained_weights_raise_a_clear_error():
    with pytest.raises(RuntimeError, match="does not download pretrained weights"):
        gg.models.resnet18(pretrained=True)
    with pytest.raises(RuntimeError, match="does not download pretrained weights"):
        gg.models.resnet18(weights="IMAGENET1K_V1")


# torchvision's ResNet, BasicBlock form, in torch.nn ----------------------------------------------

class _TorchBlock(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class _TorchResNet18(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 1)
        self.layer2 = self._make_layer(128, 2)
        self.layer3 = self._make_layer(256, 2)
        self.layer4 = self._make_layer(512, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                        tnn.BatchNorm2d(planes))
        blocks = [_TorchBlock(self.inplanes, planes, stride, downsample), _TorchBlock(planes, planes)]
        self.inplanes = planes
        return tnn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.mark.parametrize("train", [True, False])
def test_resnet18_forward_and_backward_match_torch(train):
    torch.manual_seed(0)
    reference = _TorchResNet18(num_classes=7).double()
    assert list(reference.state_dict()) == [k for k in torchvision_resnet18_keys()]
    with torch.no_grad():  # non-trivial running statistics for eval mode
        for m in reference.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model = gg.models.resnet18(num_classes=7).double()
    model.load_state_dict(to_graphgrad(reference.state_dict()))
    model.train(train)
    reference.train(train)
    x = np.random.default_rng(0).standard_normal((2, 3, 40, 40))
    g_x, t_x = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_out, t_out = model(g_x), reference(t_x)
    assert_close(g_out, t_out, "logits", rtol=1e-6, atol=1e-8)
    g_out.sum().backward()
    t_out.sum().backward()
    assert_close(g_x.grad, t_x.grad, "input grad", rtol=1e-6, atol=1e-8)
    t_params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert_close(p.grad, t_params[name].grad, name, rtol=1e-6, atol=1e-8)
    for (name, b), (_, tb) in zip(model.named_buffers(), reference.named_buffers()):
        assert_close(b, tb, name, rtol=1e-6, atol=1e-8)
