from cocflow.cli import main

main()
