"""The ``fluxgitops`` command line: a thin shell over the core, the components and the providers.

Lives outside the core package because ``preview`` / ``up`` / ``destroy`` run
the Pulumi program (``components``) and the core imports no Pulumi.
"""
