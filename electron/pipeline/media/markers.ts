/**
 * What the demo system prints on its serial console: a test boot passes on
 * the first and fails at once on the second. The demo's stage 2
 * (assets/demo/stage-2-init.sh) prints them; its stage 1 prints the second too.
 */

export const DEMO_MARKER = 'NETBOOT-COMPOSER-DEMO: OK';

export const DEMO_FAILURE_MARKER = 'NETBOOT-COMPOSER-DEMO: FAILED';
