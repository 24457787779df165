from services.console.app import run

run()
