# The article's Keras CNN (section 6.1.2), run by flowgrad. Changes from the article: the
# import names flowgrad, and its three bugs are fixed — the input is N,H,W,C = 64,32,32,3
# (the article's 32,32,3,32 is not a batch of 32x32 RGB images, and input_shape must not
# include the batch), the labels are integer classes in [0, 32) for
# SparseCategoricalCrossentropy (the article's random floats are not), and a softmax output
# takes from_logits=False (the article's from_logits=True would apply softmax twice).
import numpy as np

import flowgrad as tf

# 生成数据
x = np.random.normal(0, 1, (64, 32, 32, 3)).astype(np.float32)
y = np.random.randint(0, 32, (64,))

# 定义模型
model = tf.keras.Sequential([
    tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
    tf.keras.layers.MaxPooling2D((2, 2)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation='relu'),
    tf.keras.layers.Dense(32, activation='softmax')
])

# 定义损失函数
loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False)

# 定义优化器
optimizer = tf.keras.optimizers.Adam(learning_rate=0.001)

# 训练模型
model.compile(optimizer=optimizer, loss=loss, metrics=['accuracy'])
history = model.fit(x, y, epochs=10)
print("parameters:", model.count_params())
