import torch

# The tests use tiny tensors: intra-op threads only add start-up and
# spin-wait overhead, which on a busy 2-core machine makes each op ~100x
# slower.
torch.set_num_threads(1)
