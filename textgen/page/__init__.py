"""The studio's page (Gradio): what every tab shares (`common`), the upload panel, and one module per
tab that lays out its widgets and wires its events over the textgen package. `app.py` builds it."""
