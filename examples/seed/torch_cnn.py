# The article's PyTorch CNN (section 4.2.2), run by flowgrad. Changes from the article: the
# imports name flowgrad, and its two bugs are fixed — the input is N,C,H,W = 32,3,16,16 (the
# article's 32,32,3,32 puts 32 where Conv2d(3, ...) expects 3 channels), and the targets are
# class indices for CrossEntropyLoss (the article's random floats of shape 32,32,32 are not).
import flowgrad as torch
import flowgrad.nn as nn
import flowgrad.nn.functional as F

# 生成数据
x = torch.randn(32, 3, 16, 16, dtype=torch.float32)
y = torch.randint(0, 32, (32,))

# 定义模型
class CNN(nn.Module):
    def __init__(self):
        super(CNN, self).__init__()
        self.conv = nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, padding=0)
        self.fc = nn.Linear(32 * 8 * 8, 64)
        self.out = nn.Linear(64, 32)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        x = x.view(-1, 32 * 8 * 8)
        x = F.relu(self.fc(x))
        x = self.out(x)
        return x

model = CNN()

# 定义损失函数
criterion = nn.CrossEntropyLoss()

# 定义优化器
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

# 训练模型
model.train()
for i in range(10):
    optimizer.zero_grad()
    y_pred = model(x)
    loss = criterion(y_pred, y)
    loss.backward()
    optimizer.step()
    print("Epoch:", i, "Loss:", loss.item())
