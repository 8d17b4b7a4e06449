"""App: the `figlake` command line and the Streamlit explorer."""
