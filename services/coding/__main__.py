from services.coding.app import build

build().run()
