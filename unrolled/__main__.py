"""``python -m unrolled``: the same as the ``unrolled`` command (see :mod:`unrolled.cli`)."""
from unrolled.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
