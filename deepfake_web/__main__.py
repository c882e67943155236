"""``python -m deepfake_web`` runs the command line."""

from deepfake_web.cli import main

if __name__ == "__main__":
    main()
