"""Model architectures, as torchvision.models names them (nothing is downloaded)."""
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
