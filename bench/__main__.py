"""`python -m bench` (`make bench`): every benchmark, as a table of medians and ratios."""

from __future__ import annotations

import platform
import time

from bench import token_endpoint

if __name__ == "__main__":
    print(f"# Wharfinger benchmarks, {time.strftime('%Y-%m-%d')}, {platform.node()},"
          f" Python {platform.python_version()}")
    token_endpoint.print_table(token_endpoint.main())
