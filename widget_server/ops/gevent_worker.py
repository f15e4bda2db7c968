"""gunicorn's gevent worker, imported by the worker process only.

gunicorn loads its worker class in the master, which never serves a request: gevent, greenlet,
zope.interface and gunicorn's gevent module are 6 MB of the master's memory for nothing. The
master holds this class; the forked worker turns into gunicorn's own ``GeventWorker`` as the
first thing it does (``init_process`` is the first call in the child), so it runs exactly that.
"""

from __future__ import annotations

from gunicorn.workers.base_async import AsyncWorker

PATH = f"{__name__}.GeventWorker"  # what ``widget-server run`` gives gunicorn for "gevent"


class GeventWorker(AsyncWorker):
    def init_process(self) -> None:
        from gunicorn.workers.ggevent import GeventWorker as Gevent  # in the worker only

        # The same base (AsyncWorker) and no slots: the instance is already all a
        # GeventWorker is, less its methods.
        self.__class__ = Gevent
        Gevent.init_process(self)
