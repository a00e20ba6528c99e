"""The "Optional: Data Parallelism" tutorial's program: a model wrapped in nn.DataParallel
whenever there is a GPU count to report, fed by a DataLoader of random data; it prints the
sizes the model sees inside and outside. (Sizes are printed as lists: graphgrad's Size prints
under its own name.)"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

input_size = 5
output_size = 2
batch_size = 30
data_size = 100

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)


class RandomDataset(Dataset):
    def __init__(self, size, length):
        self.len = length
        self.data = torch.randn(length, size)

    def __getitem__(self, index):
        return self.data[index]

    def __len__(self):
        return self.len


rand_loader = DataLoader(dataset=RandomDataset(input_size, data_size), batch_size=batch_size, shuffle=True)


class Model(nn.Module):
    def __init__(self, input_size, output_size):
        super(Model, self).__init__()
        self.fc = nn.Linear(input_size, output_size)

    def forward(self, input):
        output = self.fc(input)
        print("\tIn Model: input size", list(input.size()), "output size", list(output.size()))
        return output


model = Model(input_size, output_size)
print("Let's use", torch.cuda.device_count(), "GPUs!")
model = nn.DataParallel(model)
model.to(device)

total = 0.0
for data in rand_loader:
    input = data.to(device)
    output = model(input)
    print("Outside: input size", list(input.size()), "output_size", list(output.size()))
    total += output.sum().item()
print("sum of outputs: %.5f" % total)
print("state_dict keys:", list(model.state_dict()))
plain = Model(input_size, output_size)
plain.load_state_dict({k.removeprefix("module."): v for k, v in model.state_dict().items()})
print("unwrapped matches:", torch.equal(plain.fc.weight, model.module.fc.weight))
