// The renderer's entry point. The page runs with no Node: it will reach the
// main process only through window.netbootComposer (electron/preload).
document.title = 'Netboot Composer';
