"""python -m fa3jit: the devices fa3jit sees and which it would use."""

from . import info

print(info(as_text=True))
