# The article's TensorFlow-1 linear regression (section 4.1.1), run by flowgrad:
# `import flowgrad.compat.v1 as tf` instead of `import tensorflow as tf`, and the article's
# three bugs fixed (they fail in TensorFlow 1 too):
# 1. x and y were NumPy arrays used both as the model's input and as feed_dict keys; the model
#    now reads placeholders x and y, and the data are x_data and y_data.
# 2. `sess.run(optimizer, ...)` ran the optimizer object, which is not an op; the train op is
#    `train_op = optimizer.minimize(loss)`, and each step runs it.
# 3. A new Session (and a fresh initialisation) every epoch restarted training each time, and
#    W and b were read after the last session had closed; one Session now runs the whole loop.
import flowgrad.compat.v1 as tf  # noqa: I001  (the article's import order)
import numpy as np

# 生成数据
x_data = np.linspace(-1, 1, 100)
y_data = 2 * x_data + 1 + np.random.normal(0, 0.1, 100)

# 定义模型
x = tf.placeholder(tf.float32)
y = tf.placeholder(tf.float32)
W = tf.Variable(0.1, dtype=tf.float32)
b = tf.Variable(0.1, dtype=tf.float32)
y_pred = W * x + b

# 定义损失函数
loss = tf.reduce_mean(tf.square(y - y_pred))

# 定义优化器
optimizer = tf.train.GradientDescentOptimizer(learning_rate=0.01)
train_op = optimizer.minimize(loss)

# 训练模型
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(1000):
        for j in range(100):
            sess.run(train_op, feed_dict={x: x_data, y: y_data})
            if j % 10 == 0:
                current_loss = sess.run(loss, feed_dict={x: x_data, y: y_data})
                print("Epoch:", i, "Step:", j, "Loss:", current_loss)

    # 输出结果
    print("W:", sess.run(W))
    print("b:", sess.run(b))
