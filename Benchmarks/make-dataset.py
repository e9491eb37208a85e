#!/usr/bin/env python3
"""A deterministic benchmark data set: many small text files, large random files and large
compressible files, so backup, dedup and compression are all exercised."""
import hashlib, os, random, sys

root = sys.argv[1]
scale = float(os.environ.get("BENCH_SCALE", "1"))
rng = random.Random(20261126)
os.makedirs(root, exist_ok=True)

small = os.path.join(root, "small")
for i in range(int(20000 * scale)):
    d = os.path.join(small, f"d{i // 200:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.txt"), "w") as f:
        f.write(f"file {i}\n" + "lorem ipsum dolor sit amet " * rng.randint(1, 200))

def stream(label, size):
    block = hashlib.shake_256(label.encode()).digest(1 << 20)
    out, counter = bytearray(), 0
    while len(out) < size:
        out += hashlib.shake_256(block + counter.to_bytes(8, "little")).digest(1 << 20)
        counter += 1
    return bytes(out[:size])

big = os.path.join(root, "random")
os.makedirs(big, exist_ok=True)
for i in range(max(1, int(4 * scale))):
    with open(os.path.join(big, f"random{i}.bin"), "wb") as f:
        f.write(stream(f"random{i}", 96 << 20))

text = os.path.join(root, "logs")
os.makedirs(text, exist_ok=True)
for i in range(max(1, int(4 * scale))):
    with open(os.path.join(text, f"app{i}.log"), "w") as f:
        for n in range(int(1_500_000)):
            f.write(f"2026-11-26T12:{n % 60:02d}:{n % 59:02d}Z INFO request id={rng.randrange(1 << 32):08x} path=/api/v1/items/{n % 997} status=200 ms={n % 431}\n")
print(root)
