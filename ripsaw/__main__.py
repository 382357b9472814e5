from ripsaw.cli import main

main()
