"""graphgrad.onnx: importable, so scripts that import torch.onnx at the top run; exporting needs
torch's exporter (TorchScript or torch.export graphs and the onnx package), which graphgrad does
not have."""
__all__ = ["export", "is_in_onnx_export"]


def is_in_onnx_export():
    return False


def export(model, args=(), f=None, *rest, **kwargs):
    raise NotImplementedError("graphgrad.onnx.export: ONNX export is not supported (it needs torch's exporter and "
                              "the onnx package); save the weights with graphgrad.save(model.state_dict(), ...) "
                              "instead")
