# The article's PyTorch linear regression (section 4.2.1), run by flowgrad. The only change
# from the article: `import flowgrad as torch` instead of `import torch`.
import flowgrad as torch  # noqa: I001  (the article's import order)
import numpy as np

# 生成数据
x = torch.tensor(np.linspace(-1, 1, 100), dtype=torch.float32)
y = 2 * x + 1 + torch.normal(0, 0.1, (100,))

# 定义模型
class LinearRegression(torch.nn.Module):
    def __init__(self):
        super(LinearRegression, self).__init__()
        self.W = torch.nn.Parameter(torch.tensor(0.1, dtype=torch.float32))
        self.b = torch.nn.Parameter(torch.tensor(0.1, dtype=torch.float32))

    def forward(self, x):
        return self.W * x + self.b

model = LinearRegression()

# 定义损失函数
criterion = torch.nn.MSELoss()

# 定义优化器
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

# 训练模型
for i in range(1000):
    for j in range(100):
        optimizer.zero_grad()
        y_pred = model(x)
        loss = criterion(y_pred, y)
        loss.backward()
        optimizer.step()
        if j % 10 == 0:
            print("Epoch:", i, "Step:", j, "Loss:", loss.item())

# 输出结果
print("W:", model.W.item())
print("b:", model.b.item())
