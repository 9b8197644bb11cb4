"""Print the README's Nth console command (1-based): CI runs the first as written."""

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
blocks = re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S)
sys.stdout.write(blocks[int(sys.argv[1]) - 1].strip() + "\n")
