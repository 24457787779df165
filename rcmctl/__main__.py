from rcmctl.cli import main

main()
