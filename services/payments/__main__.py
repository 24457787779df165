from services.payments.app import build

build().run()
