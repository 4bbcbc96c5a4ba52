"""`python -m warmseq ...` (and `torchrun -m warmseq train ...`) run the command-line interface."""

from warmseq.cli.main import main

raise SystemExit(main())
