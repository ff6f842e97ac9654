from careedge.cli import app

app()
