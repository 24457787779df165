from services.registration.app import build

build().run()
