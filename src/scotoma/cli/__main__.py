"""`python -m scotoma.cli ...` is `scotoma ...`: for launchers that start a module on every rank, e.g.
`accelerate launch --config_file CONFIG -m scotoma.cli train sft ...`."""

from scotoma.cli import app

if __name__ == "__main__":
    app()
