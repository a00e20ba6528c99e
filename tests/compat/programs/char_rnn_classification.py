"""The shape of the "NLP From Scratch: classifying names with a character-level RNN" tutorial:
names turned into one-hot letter tensors, an nn.RNN over them with a Linear and LogSoftmax on
the last hidden state, NLLLoss and SGD over random (category, name) draws, accuracy at the end.
The names are made up from per-language syllables instead of the downloaded files."""
import random
import string

import torch
import torch.nn as nn

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
syllables = {"Italian": ["ro", "ma", "ni", "cci", "lo", "tti"], "German": ["sch", "mid", "berg", "er", "wald"],
             "Japanese": ["ka", "to", "mi", "su", "ya", "shi"], "Greek": ["pou", "los", "kos", "ni", "dis"]}
all_categories = list(syllables)
rng = random.Random(0)
category_lines = {c: ["".join(rng.choice(s) for _ in range(rng.randint(2, 4))).capitalize() for _ in range(40)]
                  for c, s in syllables.items()}


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


torch.manual_seed(0)
rnn = CharRNN(n_letters, 32, len(all_categories))
criterion = nn.NLLLoss()
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05, momentum=0.5)
random.seed(1)


def randomTrainingExample():
    category = random.choice(all_categories)
    line = random.choice(category_lines[category])
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    return category, line, category_tensor, lineToTensor(line)


current_loss = 0
for iter in range(1, 401):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    output = rnn(line_tensor)
    loss = criterion(output, category_tensor)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(rnn.parameters(), 3)
    optimizer.step()
    current_loss += loss.item()
    if iter % 50 == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = '✓' if guess == category else '✗ (%s)' % category
        print('%d %d%% %.4f %s / %s %s avg %.4f' % (iter, iter / 400 * 100, loss.item(), line, guess, correct,
                                                   current_loss / 50))
        current_loss = 0

rnn.eval()
with torch.no_grad():
    right = sum(categoryFromOutput(rnn(lineToTensor(line)))[0] == c for c, lines in category_lines.items()
                for line in lines)
print('accuracy: %d/%d' % (right, sum(len(v) for v in category_lines.values())))
