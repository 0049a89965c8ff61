"""The book: building (papermill execution, jupyter-book rendering, checks), plotting helpers and the Colab cell."""
