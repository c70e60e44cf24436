"""`python -m cocflow`: the command line.

`textconv FILE` is git's diff driver: git starts it once per file version it shows (400
processes for a 200-case commit), so it goes straight to its operation without loading the
command-line layer (Click and every command's options); `cocflow textconv` is the same."""

import sys

if len(sys.argv) == 3 and sys.argv[1] == "textconv" and not sys.argv[2].startswith("-"):
    from pathlib import Path

    from cocflow.operations.textconv import textconv

    sys.stdout.buffer.write(textconv(Path(sys.argv[2])))
    sys.stdout.buffer.flush()
else:
    from cocflow.cli import main

    main()
