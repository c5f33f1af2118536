// Builds the console into the Python package, where `gridflow api` serves it under /console/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: {
    outDir: '../gridflow/api/console_dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500, // ECharts with the map and charts is one ~1 MB chunk
  },
});
