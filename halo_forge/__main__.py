from halo_forge.cli.main import main

raise SystemExit(main())
