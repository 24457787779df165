from services.ar_followup.app import build

build().run()
