"""The `warmseq` command: generate | train | evaluate | inspect, each a thin shell over the public API."""
