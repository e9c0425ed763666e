// Probe fitting on the GPU: every fit takes an activation matrix in a GPU buffer (or host rows) and a Runtime.
export { type GpuMatrix, type HostMatrix, type MatrixInput } from './matrix';
export { fitLogistic, logisticPredict, logisticScores, type LogisticFit, type LogisticOptions } from './logreg';
export { fitRidge, type RidgeFit, type RidgeOptions } from './ridge';
export { pca, topSvd, type Pca, type SvdOptions, type TopSvd } from './pca';
export { classMeans, kmeans, type ClassMeans, type KmeansFit, type KmeansOptions } from './kmeans';
export { omp, type OmpFit, type OmpOptions } from './omp';
